/**
 * `pgsql` (aliases `postgres`, `postgresql`): PostgreSQL databases dumped with pg_dump, one
 * artifact per database, plus the roles with pg_dumpall --globals-only when asked. The dump
 * code is shared with pgsql-ssh and rds-pgsql (src/sources/sql/pg-dump.ts).
 */
import type { Readable } from 'node:stream';
import { SourceError } from '../../errors.js';
import { dumpsAllDatabases, listPgDatabases, pgDumpArtifacts, pgDumpProblems, pgEnvironment, pgpassFile, pgQuery } from '../sql/pg-dump.js';
import { restorePgDump } from '../sql/pg-restore.js';
import { secretFilesPerDir, withSecretFile } from '../sql/secret-files.js';
import { defineSource, type Artifact, type RestoreTarget, type SourceContext } from '../types.js';
import { PgsqlOptions } from './schema.js';

export const pgsqlSource = defineSource({
  type: 'pgsql',
  aliases: ['postgres', 'postgresql'],
  description: 'PostgreSQL databases, dumped with pg_dump (plain SQL or custom format), roles with pg_dumpall --globals-only.',
  options: PgsqlOptions,
  problems(options) {
    return pgDumpProblems(options);
  },
  create(options) {
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
  },
});
