/**
 * pg_dump / pg_dumpall, written once for every PostgreSQL source (`pgsql`, and the
 * `pgsql-ssh` and `rds-pgsql` sources built on it): the pgpass file, the argv, database
 * enumeration, and the dumps as Artifacts. The job-file keys and their checks are pg-schema.ts.
 *
 * The password goes into a temporary pgpass file (0600) named by PGPASSFILE: never argv
 * (visible in ps) and never PGPASSWORD (visible in /proc/PID/environ to the same user, and
 * discouraged by the PostgreSQL documentation). `-w` makes every program fail instead of
 * prompting on a terminal.
 */
import { BackupError, SourceError } from '../../errors.js';
import { spawnProgram, stdoutOf } from '../../lib/process.js';
import type { Artifact, SourceContext } from '../types.js';
import { pgUserOptions, type PgDumpSettings, type PgsqlFormat } from './pg-schema.js';
import { runClient } from './programs.js';
import type { SecretFiles } from './secret-files.js';

export interface PgConnection {
  dbhost: string;
  port?: number;
  dbuser?: string;
  dbpass?: string;
}

export interface PgDumpSource extends PgConnection, PgDumpSettings {
  /** The source id: artifacts are `${id}.sql`, `${id}.${dbname}.sql`, `${id}.globals.sql`. */
  id: string;
  dump_command?: string;
  dumpall_command?: string;
  /** The client used to list databases (default "psql"). */
  psql_command?: string;
}

export const LIST_DATABASES_SQL = 'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname';

/** A pgpass line matching any host, port, database and user: the file exists for this one connection. */
export function pgpassFile(conn: PgConnection): string | undefined {
  if (conn.dbpass === undefined) return undefined;
  return `*:*:*:*:${conn.dbpass.replace(/[\\:]/g, (c) => `\\${c}`)}\n`;
}

/** The environment for every PostgreSQL program: PGPASSFILE when we wrote one, and no inherited PGPASSWORD to override it. */
export function pgEnvironment(passfile: string | undefined, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  if (passfile !== undefined) {
    env.PGPASSFILE = passfile;
    delete env.PGPASSWORD;
  }
  return env;
}

/** `dbname='…'`: a database name as a connection string, so no name is ever mistaken for one or for an option. */
export function pgDatabaseArgument(name: string): string {
  return `dbname='${name.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** -h/-p/-U and -w (never prompt), common to pg_dump, pg_dumpall, psql and pg_restore. */
export function pgConnectionArgs(conn: PgConnection): string[] {
  const args = ['-h', conn.dbhost, '-p', String(conn.port ?? 5432)];
  if (conn.dbuser !== undefined) args.push('-U', conn.dbuser);
  args.push('-w');
  return args;
}

/** pg_dump's argv for one database. */
export function pgDumpArgs(conn: PgConnection, settings: PgDumpSettings, database: string): string[] {
  return [...pgConnectionArgs(conn), `--format=${settings.format ?? 'plain'}`, ...pgUserOptions(settings.options), '-d', pgDatabaseArgument(database)];
}

/** pg_dumpall --globals-only's argv (roles, tablespaces). */
export function pgDumpallGlobalsArgs(conn: PgConnection, settings: PgDumpSettings): string[] {
  return [...pgConnectionArgs(conn), '--globals-only', ...pgUserOptions(settings.dumpall_options)];
}

/** psql's argv to run `sql` (on stdin or -c) in `database`, unaligned, tuples only. */
export function psqlArgs(conn: PgConnection, database: string): string[] {
  return ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', ...pgConnectionArgs(conn), '-d', pgDatabaseArgument(database)];
}

/** True when dbname asks for every database. */
export function dumpsAllDatabases(settings: Pick<PgDumpSettings, 'dbname'>): boolean {
  return settings.dbname.length === 1 && settings.dbname[0] === '*';
}

const EXTENSIONS: Record<PgsqlFormat, string> = { plain: 'sql', custom: 'dump' };

/** Artifact names: `${id}.sql` for one database, else `${id}.${dbname}.sql` made file-safe and unique. */
export function pgArtifactNames(id: string, databases: readonly string[], perDatabase: boolean, format: PgsqlFormat, reserved: readonly string[] = []): Map<string, string> {
  const ext = EXTENSIONS[format];
  const names = new Map<string, string>();
  const used = new Set(reserved);
  for (const db of databases) {
    let name = perDatabase ? `${id}.${db.replace(/[^A-Za-z0-9_-]/g, '_')}` : id;
    if (used.has(`${name}.${ext}`)) {
      let n = 2;
      while (used.has(`${name}_${n}.${ext}`)) n++;
      name = `${name}_${n}`;
    }
    used.add(`${name}.${ext}`);
    names.set(db, `${name}.${ext}`);
  }
  return names;
}

/** A clearer message for the usual failures, from the program's stderr; keeps exit code and stderr tail. */
export function explainPgFailure(error: unknown, conn: PgConnection, plugin: string): unknown {
  if (!(error instanceof BackupError) || !error.stderrTail) return error;
  const tail = error.stderrTail;
  const where = `${conn.dbhost}:${conn.port ?? 5432}`;
  const who = conn.dbuser ?? '(default user)';
  let hint: string | undefined;
  let m: RegExpExecArray | null;
  if (/password authentication failed/.test(tail)) hint = `password authentication failed for ${who} at ${where}: check dbuser and dbpass`;
  else if (/no password supplied/.test(tail)) hint = `the server at ${where} asks ${who} for a password and none was given: set dbpass`;
  else if ((m = /database "([^"]*)" does not exist/.exec(tail))) hint = `database ${m[1]} does not exist at ${where}`;
  else if ((m = /role "([^"]*)" does not exist/.exec(tail))) hint = `role ${m[1]} does not exist at ${where}`;
  else if (/server version mismatch|aborting because of server version mismatch/.test(tail)) {
    hint = 'pg_dump is older than the server: install the client of the server\'s major version and set dump_command (and dumpall_command)';
  } else if (/Connection refused|could not connect|could not translate host name|timeout expired/.test(tail)) hint = `cannot reach the server at ${where}`;
  else if ((m = /(permission denied[^\n]*)/.exec(tail))) hint = `missing privilege (${m[1]}): see the pgsql source README for the grants`;
  if (!hint) return error;
  return new SourceError(`${error.message}: ${hint}`, { plugin, cause: error, exitCode: error.exitCode, signal: error.signal, stderrTail: error.stderrTail });
}

export interface PgRun {
  plugin: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  psqlCommand?: string;
}

/** Runs SQL through psql in `database`; returns the unaligned, tuples-only output. */
export async function pgQuery(conn: PgConnection, database: string, sql: string, run: PgRun): Promise<string> {
  try {
    return await runClient(run.psqlCommand ?? 'psql', psqlArgs(conn, database), { plugin: run.plugin, env: run.env, input: sql, signal: run.signal });
  } catch (error) {
    throw explainPgFailure(error, conn, run.plugin);
  }
}

/** The databases "*" stands for, read from the `postgres` database. */
export async function listPgDatabases(conn: PgConnection, run: PgRun): Promise<string[]> {
  // -0 separates rows with NUL: database names may contain newlines.
  const args = [...psqlArgs(conn, 'postgres'), '-0', '-c', LIST_DATABASES_SQL];
  try {
    const out = await runClient(run.psqlCommand ?? 'psql', args, { plugin: run.plugin, env: run.env, signal: run.signal });
    return out.split('\0').filter((s) => s.length > 0);
  } catch (error) {
    throw explainPgFailure(error, conn, run.plugin);
  }
}

function dumpArtifact(name: string, command: string, args: string[], conn: PgConnection, plugin: string, env: NodeJS.ProcessEnv, ctx: SourceContext): Artifact {
  // The argv holds no secret (the password is in the pgpass file).
  ctx.logger.debug({ source: plugin, artifact: name, command, args }, 'starting the PostgreSQL dump');
  const dumper = spawnProgram(command, args, { plugin, env, signal: ctx.signal });
  const done = dumper.done.catch((error: unknown) => {
    throw explainPgFailure(error, conn, plugin);
  });
  done.catch(() => undefined);
  return { name, stream: stdoutOf(dumper), done, warnings: dumper.warnings };
}

/**
 * The dumps as Artifacts: the globals first (roles must exist before objects owned by them
 * are restored), then one per database. The pgpass file is removed when the generator ends;
 * pass the same `files` to the source's cleanup() so an abandoned run removes it too.
 */
export async function* pgDumpArtifacts(source: PgDumpSource, ctx: SourceContext, files: SecretFiles): AsyncGenerator<Artifact> {
  const content = pgpassFile(source);
  const passfile = content === undefined ? undefined : await files.write('pgpass', content);
  try {
    const env = pgEnvironment(passfile);
    const run: PgRun = { plugin: source.id, env, signal: ctx.signal, psqlCommand: source.psql_command };
    const all = dumpsAllDatabases(source);
    const databases = all ? await listPgDatabases(source, run) : source.dbname;
    if (databases.length === 0) throw new SourceError(`no database to dump on ${source.dbhost}: dbname "*" found none that accepts connections`, { plugin: source.id });
    const format = source.format ?? 'plain';
    const globalsName = `${source.id}.globals.sql`;
    const names = pgArtifactNames(source.id, databases, all || databases.length > 1, format, source.globals ? [globalsName] : []);

    if (source.globals) {
      const artifact = dumpArtifact(globalsName, source.dumpall_command ?? 'pg_dumpall', pgDumpallGlobalsArgs(source, source), source, source.id, env, ctx);
      yield artifact;
      await artifact.done.catch(() => undefined);
    }
    for (const database of databases) {
      const artifact = dumpArtifact(names.get(database)!, source.dump_command ?? 'pg_dump', pgDumpArgs(source, source, database), source, source.id, env, ctx);
      yield artifact;
      await artifact.done.catch(() => undefined);
    }
  } finally {
    if (passfile) await files.remove(passfile);
  }
}
