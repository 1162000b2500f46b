/**
 * The pgsql-ssh source's instance: the check and the dumps run on the SSH host, the pgpass file
 * sent on each command's stdin. Loaded only when a job uses the source (index.ts declares it).
 */
import { SourceError } from '../../errors.js';
import type { CreateContext } from '../../plugin.js';
import {
  LIST_DATABASES_SQL,
  dumpsAllDatabases,
  explainPgFailure,
  pgArtifactNames,
  pgDumpArgs,
  pgDumpallGlobalsArgs,
  pgpassFile,
  psqlArgs,
  type PgConnection,
} from '../sql/pg-dump.js';
import { LazySshSession, type ErrorFactory, type SshSession } from '../../lib/ssh/connection.js';
import { shellCommand } from '../../lib/shell-words.js';
import { captureRemote, runRemote } from '../ssh/remote-command.js';
import { SECRET_FILE, remoteScript, type RemoteScript } from '../ssh/remote-secret.js';
import { sshTargetFromOptions } from '../ssh/target.js';
import type { Artifact, Source, SourceContext, SourceOptions } from '../types.js';
import type { PgsqlSshOptions } from './schema.js';

/** The remote command running a PostgreSQL program with the pgpass file (when there is a password). */
export function pgRemoteScript(conn: PgConnection, argv: readonly string[]): RemoteScript {
  const content = pgpassFile(conn);
  if (content === undefined) return remoteScript(shellCommand(argv));
  return remoteScript(`unset PGPASSWORD; PGPASSFILE=${SECRET_FILE}; export PGPASSFILE; ${shellCommand(argv)}`, content);
}

export function create(options: SourceOptions<ReturnType<typeof PgsqlSshOptions>>, { job }: CreateContext): Source {
  const fail: ErrorFactory = (message, errorOptions) => new SourceError(message, { plugin: options.id, ...errorOptions });
  const ssh = new LazySshSession(sshTargetFromOptions(options, job), fail);
  const psql = options.psql_command ?? 'psql';

  const query = async (session: SshSession, argv: string[], signal?: AbortSignal): Promise<string> => {
    const script = pgRemoteScript(options, argv);
    return captureRemote(session, script.command, { label: 'psql', stdin: script.stdin, signal }).catch((error: unknown) => {
      throw explainPgFailure(error, options, options.id);
    });
  };

  const listDatabases = async (session: SshSession, signal?: AbortSignal): Promise<string[]> => {
    // -0 separates rows with NUL: database names may contain newlines.
    const out = await query(session, [psql, ...psqlArgs(options, 'postgres'), '-0', '-c', LIST_DATABASES_SQL], signal);
    return out.split('\0').filter((name) => name.length > 0);
  };

  const dump = async (session: SshSession, name: string, argv: string[], ctx: SourceContext): Promise<Artifact> => {
    const script = pgRemoteScript(options, argv);
    const label = argv[0]?.split('/').pop() ?? 'pg_dump';
    const dumper = await runRemote(session, script.command, { label, stdin: script.stdin, signal: ctx.signal });
    const done = dumper.done.catch((error: unknown) => {
      throw explainPgFailure(error, options, options.id);
    });
    done.catch(() => undefined);
    return { name, stream: dumper.stdout, done, warnings: dumper.warnings };
  };

  return {
    async check() {
      try {
        const session = await ssh.get();
        if (dumpsAllDatabases(options)) await listDatabases(session);
        else for (const database of options.dbname) await query(session, [psql, ...psqlArgs(options, database), '-c', 'SELECT 1']);
      } finally {
        await ssh.close();
      }
    },

    async *open(ctx): AsyncIterable<Artifact> {
      const session = await ssh.get();
      const all = dumpsAllDatabases(options);
      const databases = all ? await listDatabases(session, ctx.signal) : options.dbname;
      if (databases.length === 0) throw fail(`no database to dump on ${options.dbhost} seen from ${session.where}: dbname "*" found none that accepts connections`);
      const globalsName = `${options.id}.globals.sql`;
      const names = pgArtifactNames(options.id, databases, all || databases.length > 1, options.format, options.globals ? [globalsName] : []);
      if (options.globals) {
        const artifact = await dump(session, globalsName, [options.dumpall_command ?? 'pg_dumpall', ...pgDumpallGlobalsArgs(options, options)], ctx);
        yield artifact;
        await artifact.done.catch(() => undefined);
      }
      for (const database of databases) {
        const artifact = await dump(session, names.get(database)!, [options.dump_command ?? 'pg_dump', ...pgDumpArgs(options, options, database)], ctx);
        yield artifact;
        await artifact.done.catch(() => undefined);
      }
    },

    async cleanup() {
      await ssh.close();
    },
  };
}
