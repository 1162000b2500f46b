/**
 * `vzdump`: Proxmox VE guest backups, stored by the hook mode (`backup vzdump-hook`), which
 * vzdump calls for every guest. The source only declares the encryption (passphrase or
 * recipients) and the optional `vmids` filter; a normal `backup run` has nothing to dump for it.
 */
import { defineSource, type Artifact } from '../types.js';
import { VZDUMP_SOURCE_TYPE, VzdumpOptions } from './schema.js';

export const vzdumpSource = defineSource({
  type: VZDUMP_SOURCE_TYPE,
  description: 'Proxmox VE vzdump archives, encrypted and stored by the vzdump hook mode (backup vzdump-hook).',
  options: VzdumpOptions,
  create(options) {
    return {
      // eslint-disable-next-line require-yield
      async *open(ctx): AsyncIterable<Artifact> {
        ctx.logger.info(`source ${options.id} (vzdump) is stored by "backup vzdump-hook" when vzdump runs; a normal run has nothing to dump for it`);
      },
    };
  },
});
