/**
 * The pgsql source's instance: the check, the dumps (src/sources/sql/pg-dump.ts) and the restore
 * into a database. Loaded only when a job uses the source (index.ts declares it).
 */
import type { Readable } from 'node:stream';
import { SourceError } from '../../errors.js';
import { dumpsAllDatabases, listPgDatabases, pgDumpArtifacts, pgEnvironment, pgpassFile, pgQuery } from '../sql/pg-dump.js';
import { restorePgDump } from '../sql/pg-restore.js';
import { secretFilesPerDir, withSecretFile } from '../sql/secret-files.js';
import type { Artifact, RestoreTarget, Source, SourceContext, SourceOptions } from '../types.js';
import type { PgsqlOptions } from './schema.js';

export function create(options: SourceOptions<ReturnType<typeof PgsqlOptions>>): Source {
  const filesFor = secretFilesPerDir();

  return {
    async check(ctx: SourceContext): Promise<void> {
      await withSecretFile(filesFor(ctx), 'pgpass', pgpassFile(options), async (passfile) => {
        const run = { plugin: options.id, env: pgEnvironment(passfile), signal: ctx.signal };
        if (dumpsAllDatabases(options)) {
          await listPgDatabases(options, run);
          return;
        }
        for (const database of options.dbname) await pgQuery(options, database, 'SELECT 1;', run);
      });
    },
    open(ctx: SourceContext): AsyncIterable<Artifact> {
      return pgDumpArtifacts(options, ctx, filesFor(ctx));
    },
    async cleanup(ctx: SourceContext): Promise<void> {
      await filesFor(ctx).removeAll();
    },
    async restoreInto(dump: Readable, target: RestoreTarget, ctx: SourceContext): Promise<void> {
      if (!target.artifactName.startsWith(`${options.id}.`)) {
        dump.destroy();
        throw new SourceError(`${target.artifactName} is not an artifact of source ${options.id}`, { plugin: options.id });
      }
      try {
        await restorePgDump(dump, target, { plugin: options.id, conn: options, files: filesFor(ctx), signal: ctx.signal });
      } finally {
        dump.destroy();
      }
    },
  };
}
