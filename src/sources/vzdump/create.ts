/**
 * The vzdump source's instance, for a normal run: it has nothing to dump and says who stores the
 * guests. Loaded only when a job uses the source (index.ts declares it).
 */
import type { Artifact, Source, SourceOptions } from '../types.js';
import type { VzdumpOptions } from './schema.js';

export function create(options: SourceOptions<ReturnType<typeof VzdumpOptions>>): Source {
  return {
    // eslint-disable-next-line require-yield
    async *open(ctx): AsyncIterable<Artifact> {
      ctx.logger.info(`source ${options.id} (vzdump) is stored by "backup vzdump-hook" when vzdump runs; a normal run has nothing to dump for it`);
    },
  };
}
