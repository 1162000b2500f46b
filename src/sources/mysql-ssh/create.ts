/**
 * The mysql-ssh source's instance: the check and the dump run on the SSH host, the option file
 * sent on the command's stdin. Loaded only when a job uses the source (index.ts declares it).
 */
import { SourceError } from '../../errors.js';
import type { CreateContext } from '../../plugin.js';
import { explainMysqlFailure, mysqlOptionFile, planMysqldump, type MysqlConnection } from '../sql/mysql-dump.js';
import { LazySshSession, type ErrorFactory } from '../../lib/ssh/connection.js';
import { shellCommand, shellQuote } from '../../lib/shell-words.js';
import { captureRemote, runRemote } from '../ssh/remote-command.js';
import { SECRET_FILE, remoteScript, type RemoteScript } from '../ssh/remote-secret.js';
import { sshTargetFromOptions } from '../ssh/target.js';
import type { Artifact, Source, SourceOptions } from '../types.js';
import type { MysqlSshOptions } from './schema.js';

/** Picks the program on the host: the configured one, else mariadb-dump when installed there, else mysqldump. */
function programChoice(configured: string | undefined, candidates: readonly [string, string]): { prelude: string; program: string } {
  if (configured) return { prelude: '', program: shellQuote(configured) };
  const [preferred, fallback] = candidates;
  return { prelude: `if command -v ${preferred} >/dev/null 2>&1; then p=${preferred}; else p=${fallback}; fi; `, program: '"$p"' };
}

/** The remote command running a MySQL program with the credentials, as `--defaults-file` (first argument, as MySQL requires). */
export function mysqlRemoteScript(conn: MysqlConnection, configured: string | undefined, candidates: readonly [string, string], args: readonly string[]): RemoteScript {
  const { prelude, program } = programChoice(configured, candidates);
  const rest = args.length > 0 ? ` ${shellCommand(args)}` : '';
  if (conn.defaults !== undefined) return remoteScript(`${prelude}${program} ${shellQuote(`--defaults-file=${conn.defaults}`)}${rest}`);
  if (conn.dbuser === undefined && conn.dbpass === undefined) return remoteScript(`${prelude}${program}${rest}`);
  return remoteScript(`${prelude}${program} --defaults-file=${SECRET_FILE}${rest}`, mysqlOptionFile(conn));
}

export function create(options: SourceOptions<ReturnType<typeof MysqlSshOptions>>, { job, logger }: CreateContext): Source {
  const fail: ErrorFactory = (message, errorOptions) => new SourceError(message, { plugin: options.id, ...errorOptions });
  const ssh = new LazySshSession(sshTargetFromOptions(options, job), fail);
  if (options.defaults !== undefined) {
    const ignored = (['dbuser', 'dbpass'] as const).filter((key) => options[key] !== undefined);
    if (ignored.length > 0) logger.warn(`source ${options.id}: ${ignored.join(' and ')} ignored: "defaults" (${options.defaults}) provides the credentials`);
  }
  const conn: MysqlConnection = options.defaults !== undefined ? { ...options, dbuser: undefined, dbpass: undefined } : options;
  const plan = planMysqldump(conn, options);

  return {
    async check() {
      try {
        const session = await ssh.get();
        const list = plan.databases.map((db) => `'${db.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`).join(', ');
        const sql = list ? `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${list})` : 'SELECT 1';
        const args = [...(conn.dbhost ? [`--host=${conn.dbhost}`] : []), ...(conn.port ? [`--port=${conn.port}`] : []), '--batch', '--skip-column-names', '-e', sql];
        const script = mysqlRemoteScript(conn, undefined, ['mariadb', 'mysql'], args);
        const out = await captureRemote(session, script.command, { label: 'mysql', stdin: script.stdin }).catch((error: unknown) => {
          throw explainMysqlFailure(error, conn, options.id);
        });
        const found = new Set(out.split('\n').map((line) => line.trim()));
        const missing = plan.databases.filter((db) => !found.has(db));
        if (missing.length > 0) throw fail(`database ${missing.join(', ')} not found (or not visible to this user) on ${conn.dbhost ?? 'the server'} seen from ${session.where}`);
      } finally {
        await ssh.close();
      }
    },

    async *open(ctx): AsyncIterable<Artifact> {
      const session = await ssh.get();
      const script = mysqlRemoteScript(conn, options.dump_command, ['mariadb-dump', 'mysqldump'], plan.args);
      const dumper = await runRemote(session, script.command, { label: 'mysqldump', stdin: script.stdin, signal: ctx.signal });
      const done = dumper.done.catch((error: unknown) => {
        throw explainMysqlFailure(error, conn, options.id);
      });
      done.catch(() => undefined);
      yield { name: `${options.id}.sql`, stream: dumper.stdout, done, warnings: dumper.warnings };
    },

    async cleanup() {
      await ssh.close();
    },
  };
}
