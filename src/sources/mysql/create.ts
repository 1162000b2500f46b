/**
 * The mysql source's instance: the check, the dump (src/sources/sql/mysql-dump.ts) and the restore
 * into a database. Loaded only when a job uses the source (index.ts declares it).
 */
import type { Readable } from 'node:stream';
import { SourceError } from '../../errors.js';
import type { CreateContext } from '../../plugin.js';
import { mysqlDumpArtifacts, mysqlOptionFile, mysqlOptionFilePath, planMysqldump } from '../sql/mysql-dump.js';
import { mysqlQuery, quoteMysqlString, restoreMysqlDump, type MysqlRestoreSettings } from '../sql/mysql-restore.js';
import { secretFilesPerDir, withSecretFile } from '../sql/secret-files.js';
import type { Artifact, RestoreTarget, Source, SourceContext, SourceOptions } from '../types.js';
import type { MysqlOptions } from './schema.js';

export function create(options: SourceOptions<ReturnType<typeof MysqlOptions>>, { logger }: CreateContext): Source {
  if (options.defaults !== undefined) {
    const ignored = (['dbuser', 'dbpass'] as const).filter((key) => options[key] !== undefined);
    if (ignored.length > 0) logger.warn(`source ${options.id}: ${ignored.join(' and ')} ignored: "defaults" (${options.defaults}) provides the credentials, as in the original tool`);
  }
  const conn = options.defaults !== undefined ? { ...options, dbuser: undefined, dbpass: undefined } : options;
  const plan = planMysqldump(conn, options);
  const filesFor = secretFilesPerDir();
  const restoreSettings = (ctx: SourceContext): MysqlRestoreSettings => ({ plugin: options.id, conn, files: filesFor(ctx), signal: ctx.signal });

  return {
    async check(ctx: SourceContext): Promise<void> {
      const files = filesFor(ctx);
      const content = conn.defaults ? undefined : mysqlOptionFile(conn);
      await withSecretFile(files, 'mysql-client.cnf', content, async (temporary) => {
        const optionFile = mysqlOptionFilePath(conn, temporary);
        const list = plan.databases.map(quoteMysqlString).join(', ');
        const sql = list ? `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${list});` : 'SELECT 1;';
        const found = new Set((await mysqlQuery(sql, restoreSettings(ctx), optionFile)).split('\n').map((l) => l.trim()));
        const missing = plan.databases.filter((db) => !found.has(db));
        if (missing.length > 0) throw new SourceError(`database ${missing.join(', ')} not found (or not visible to this user) on ${conn.dbhost ?? 'the server'}`, { plugin: options.id });
      });
    },
    open(ctx: SourceContext): AsyncIterable<Artifact> {
      return mysqlDumpArtifacts({ ...conn, dbname: options.dbname, options: options.options, noevents: options.noevents, id: options.id, dump_command: options.dump_command }, ctx, filesFor(ctx));
    },
    async cleanup(ctx: SourceContext): Promise<void> {
      await filesFor(ctx).removeAll();
    },
    async restoreInto(dump: Readable, target: RestoreTarget, ctx: SourceContext): Promise<void> {
      if (plan.allDatabases || plan.databases.length > 1) {
        dump.destroy();
        throw new SourceError(
          `source ${options.id} dumps ${plan.allDatabases ? 'every database' : `${plan.databases.length} databases`} into one file, which names them itself: --to-database loads one database. Restore the file with --to and load it with the mysql client.`,
          { plugin: options.id },
        );
      }
      try {
        await restoreMysqlDump(dump, target, restoreSettings(ctx));
      } finally {
        dump.destroy();
      }
    },
  };
}
