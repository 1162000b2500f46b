/**
 * mysqldump / mariadb-dump, written once for every MySQL-family source (`mysql`, and the
 * `mysql-ssh` and `rds` sources built on it): the option file holding the credentials, the
 * argv, and the dump as an Artifact. The job-file keys and their checks are mysql-schema.ts.
 *
 * Credentials never reach argv: user and password go into a `[client]` option file (0600)
 * passed as `--defaults-file`, which MySQL programs only honour as their FIRST argument. The original
 * tool used --defaults-file too; unlike --defaults-extra-file it also keeps a ~/.my.cnf of the
 * runner's user from silently overriding the job file's user and password.
 */
import { BackupError, SourceError } from '../../errors.js';
import { spawnProgram, stdoutOf } from '../../lib/process.js';
import type { Artifact, SourceContext } from '../types.js';
import { firstInstalled } from './programs.js';
import type { SecretFiles } from './secret-files.js';
import { longOption } from './long-option.js';
import { hasOption, mysqlUserOptions, type MysqlDumpSettings } from './mysql-schema.js';

export interface MysqlConnection {
  dbhost?: string;
  port?: number;
  dbuser?: string;
  dbpass?: string;
  defaults?: string;
}

export interface MysqlDumpSource extends MysqlConnection, MysqlDumpSettings {
  /** The source id: the artifact is `${id}.sql`. */
  id: string;
  dump_command?: string;
}

/** The dump program: the configured one, else mariadb-dump when installed (MariaDB 11 deprecates the mysqldump name), else mysqldump. */
export function mysqlDumpCommand(configured?: string): string {
  return configured ?? firstInstalled(['mariadb-dump', 'mysqldump']);
}

/** The client program for queries and restores: mariadb when installed, else mysql. */
export function mysqlClientCommand(): string {
  return firstInstalled(['mariadb', 'mysql']);
}

/** A value in a MySQL option file: double-quoted, with the escapes option files understand. */
function optionValue(value: string): string {
  const escaped = value.replace(/[\\"\n\r\t\b]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b' })[c]!);
  return `"${escaped}"`;
}

/** The `[client]` option file holding the credentials (read by mysqldump, mysql and mariadb alike); host and port go on the command line. */
export function mysqlOptionFile(conn: MysqlConnection): string {
  const lines = ['[client]'];
  if (conn.dbuser !== undefined) lines.push(`user=${optionValue(conn.dbuser)}`);
  if (conn.dbpass !== undefined) lines.push(`password=${optionValue(conn.dbpass)}`);
  return `${lines.join('\n')}\n`;
}

/** The file the programs read: the operator's `defaults` file, else the temporary one. */
export function mysqlOptionFilePath(conn: MysqlConnection, temporaryFile: string | undefined): string | undefined {
  return conn.defaults ?? temporaryFile;
}

/** The first argument of every MySQL program we run (MySQL only honours it in first place). */
export function defaultsFileArgument(optionFile: string | undefined): string[] {
  return optionFile ? [`--defaults-file=${optionFile}`] : [];
}

export interface MysqlDumpPlan {
  /** mysqldump's arguments after the --defaults-file one. */
  args: string[];
  /** Databases named on the command line (none with --all-databases). */
  databases: string[];
  allDatabases: boolean;
  singleTransaction: boolean;
}


/** `--host`/`--port` on the command line (not secret; the original passed --host too, so it wins over a defaults file). */
export function mysqlServerArgs(conn: MysqlConnection): string[] {
  const args: string[] = [];
  if (conn.dbhost !== undefined) args.push(`--host=${conn.dbhost}`);
  if (conn.port !== undefined) args.push(`--port=${conn.port}`);
  return args;
}

/**
 * mysqldump's arguments after --defaults-file: server, `--single-transaction` (unless the
 * options choose a locking mode), `--routines --events` as the original (`noevents` drops
 * --events), the user's options (after ours, so they win), then `--databases` and the names
 * as the original did (so the dump recreates its database with `mysql < dump.sql`), unless
 * the options say --all-databases.
 */
export function planMysqldump(conn: MysqlConnection, settings: MysqlDumpSettings): MysqlDumpPlan {
  const user = mysqlUserOptions(settings);
  const allDatabases = hasOption(user, 'all-databases', '-A');
  // --single-transaction in any form is the user's own choice; --lock-tables/--lock-all-tables
  // choose locking instead (but --skip-lock-tables, often paired with it, does not).
  const choosesLocking = user.some((w) => {
    const option = longOption(w);
    if (w === '-l' || w === '-x' || option?.name === 'single-transaction') return true;
    return (option?.name === 'lock-tables' || option?.name === 'lock-all-tables') && !option.negated;
  });
  const singleTransaction = !choosesLocking;
  const databases = allDatabases ? [] : (settings.dbname ?? []);
  const args = mysqlServerArgs(conn);
  if (singleTransaction) args.push('--single-transaction');
  args.push('--routines');
  if (!settings.noevents) args.push('--events');
  args.push(...user);
  if (databases.length > 0) args.push('--databases', '--', ...databases);
  return { args, databases, allDatabases, singleTransaction };
}

/** The full argv: `--defaults-file=<optionFile>` first, then the plan. */
export function mysqldumpArgv(optionFile: string | undefined, conn: MysqlConnection, settings: MysqlDumpSettings): string[] {
  return [...defaultsFileArgument(optionFile), ...planMysqldump(conn, settings).args];
}

/** A clearer message for the usual failures, from the dumper's stderr; keeps exit code and stderr tail. */
export function explainMysqlFailure(error: unknown, conn: MysqlConnection, plugin: string): unknown {
  if (!(error instanceof BackupError) || !error.stderrTail) return error;
  const tail = error.stderrTail;
  const who = conn.defaults ? `the user of ${conn.defaults}` : `${conn.dbuser ?? '(default user)'}@${conn.dbhost ?? 'localhost'}${conn.port ? `:${conn.port}` : ''}`;
  let hint: string | undefined;
  let m: RegExpExecArray | null;
  if (/Access denied for user .*\(using password: (YES|NO)\)/.test(tail)) {
    hint = /using password: NO/.test(tail)
      ? `access denied for ${who} without a password: set dbpass (or a defaults file)`
      : `access denied for ${who}: wrong dbuser/dbpass, or the user may not connect from this host`;
  } else if ((m = /Access denied for user [^\n]* to database '([^']*)'/.exec(tail))) {
    hint = `${who} has no privileges on database ${m[1]}: grant them (see the mysql source README)`;
  } else if ((m = /Unknown database '([^']*)'/.exec(tail))) {
    hint = `database ${m[1]} does not exist on ${conn.dbhost ?? 'the server'}`;
  } else if (/Can't connect to|Unknown (MySQL|MariaDB) server host|Lost connection/.test(tail)) {
    hint = `cannot reach the server at ${conn.dbhost ?? 'localhost'}${conn.port ? `:${conn.port}` : ''}`;
  } else if ((m = /(Access denied; you need [^\n]*|[^\n]*command denied to user[^\n]*)/.exec(tail))) {
    hint = `missing privilege: ${m[1]!.trim()}`;
  }
  if (!hint) return error;
  return new SourceError(`${error.message}: ${hint}`, {
    plugin,
    cause: error,
    exitCode: error.exitCode,
    signal: error.signal,
    stderrTail: error.stderrTail,
  });
}

/**
 * The dump as one Artifact, `${id}.sql`. The temporary option file is removed as soon as the
 * dumper exits, and by the generator's end in any case; pass the same `files` to the
 * source's cleanup() so an abandoned run removes it too.
 */
export async function* mysqlDumpArtifacts(source: MysqlDumpSource, ctx: SourceContext, files: SecretFiles): AsyncGenerator<Artifact> {
  const temporary = source.defaults ? undefined : await files.write('mysql-client.cnf', mysqlOptionFile(source));
  try {
    const args = mysqldumpArgv(mysqlOptionFilePath(source, temporary), source, source);
    const command = mysqlDumpCommand(source.dump_command);
    // The argv holds no secret (credentials are in the option file).
    ctx.logger.debug({ source: source.id, command, args }, 'starting the MySQL dump');
    const dumper = spawnProgram(command, args, { plugin: source.id, signal: ctx.signal });
    const done = dumper.done
      .catch((error: unknown) => {
        throw explainMysqlFailure(error, source, source.id);
      })
      .finally(() => (temporary ? files.remove(temporary) : undefined));
    done.catch(() => undefined);
    yield { name: `${source.id}.sql`, stream: stdoutOf(dumper), done, warnings: dumper.warnings };
    await done.catch(() => undefined);
  } finally {
    if (temporary) await files.remove(temporary);
  }
}
