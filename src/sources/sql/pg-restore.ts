/**
 * Loading a pg_dump file into a chosen database (`backup restore --to-database NAME`): plain
 * SQL through psql, custom archives through pg_restore, both in ONE transaction with
 * ON_ERROR_STOP/--exit-on-error, so a failed or truncated restore leaves the target as it was.
 */
import type { Readable } from 'node:stream';
import { SourceError } from '../../errors.js';
import { spawnProgram } from '../../lib/process.js';
import type { RestoreTarget } from '../types.js';
import { LineFilter } from './line-filter.js';
import { explainPgFailure, pgConnectionArgs, pgDatabaseArgument, pgEnvironment, pgQuery, pgpassFile, type PgConnection, type PgRun } from './pg-dump.js';
import { feedLoader } from './programs.js';
import { withSecretFile, type SecretFiles } from './secret-files.js';

export function quotePgIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal (standard_conforming_strings is on by default since 9.1; E'' would not depend on it, but \ is refused in names anyway). */
function quotePgString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function checkPgDatabaseName(name: string, plugin: string): void {
  if (name.length === 0 || Buffer.byteLength(name) > 63 || /[\0\\]/.test(name)) {
    throw new SourceError(`"${name}" is not a usable PostgreSQL database name (1-63 bytes, no \\ or NUL)`, { plugin });
  }
}

export type PgDumpKind = 'plain' | 'custom' | 'globals';

/** What an artifact holds, from its name: `.dump` is pg_dump's custom format, `.globals.sql` pg_dumpall's roles. */
export function pgDumpKind(artifactName: string): PgDumpKind {
  if (artifactName.endsWith('.globals.sql')) return 'globals';
  if (artifactName.endsWith('.dump')) return 'custom';
  return 'plain';
}

/**
 * Stops a plain dump that connects to its own database (made with --create): loading it would
 * write into the ORIGINAL database instead of the target.
 */
export function pgPlainDumpGuard(plugin: string): LineFilter {
  return new LineFilter(['\\connect', '\\c ', 'CREATE DATABASE '], () => {
    throw new SourceError(
      'the dump creates and connects to its own database (pg_dump --create): --to-database cannot redirect it; load it with psql, or dump without --create',
      { plugin },
    );
  });
}

const USER_OBJECTS_SQL = `SELECT
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%')
  + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%');`;

export interface PgRestoreSettings {
  plugin: string;
  conn: PgConnection;
  files: SecretFiles;
  signal?: AbortSignal;
  psqlCommand?: string;
  /** pg_restore, for custom-format dumps (default "pg_restore"). */
  restoreCommand?: string;
}

/** Count of relations and routines outside the system schemas, or undefined when the database does not exist. */
export async function pgDatabaseObjects(database: string, conn: PgConnection, run: PgRun): Promise<number | undefined> {
  const exists = await pgQuery(conn, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = ${quotePgString(database)};`, run);
  if (Number(exists.trim()) === 0) return undefined;
  return Number((await pgQuery(conn, database, USER_OBJECTS_SQL, run)).trim());
}

/**
 * Loads `dump` into `target.database`: refuses a database holding tables, views, sequences
 * or functions unless `force`, creates it (from template0) when missing, then restores.
 */
export async function restorePgDump(dump: Readable, target: RestoreTarget, settings: PgRestoreSettings): Promise<void> {
  const { plugin, conn } = settings;
  const kind = pgDumpKind(target.artifactName);
  if (kind === 'globals') {
    throw new SourceError(
      `${target.artifactName} holds roles and tablespaces for the whole server, not a database: restore it to a file (--to) and review it before running it with psql`,
      { plugin },
    );
  }
  checkPgDatabaseName(target.database, plugin);
  await withSecretFile(settings.files, 'pgpass', pgpassFile(conn), async (passfile) => {
    const env = pgEnvironment(passfile);
    const run: PgRun = { plugin, env, signal: settings.signal, psqlCommand: settings.psqlCommand };
    const objects = await pgDatabaseObjects(target.database, conn, run);
    if (objects === undefined) {
      // template0: a plain dump expects an empty database, and template1 may hold local additions.
      await pgQuery(conn, 'postgres', `CREATE DATABASE ${quotePgIdentifier(target.database)} TEMPLATE template0;`, run);
    } else if (objects > 0 && !target.force) {
      throw new SourceError(
        `database ${target.database} already exists and holds ${objects} table(s)/view(s)/sequence(s)/function(s): refusing to load into it. Choose another --to-database, or pass --force to load anyway.`,
        { plugin },
      );
    }
    const connection = [...pgConnectionArgs(conn), '-d', pgDatabaseArgument(target.database)];
    // psql's --single-transaction applies to -f only, hence "-f -" for standard input.
    const loader =
      kind === 'custom'
        ? spawnProgram(settings.restoreCommand ?? 'pg_restore', ['--exit-on-error', '--single-transaction', ...connection], {
            plugin,
            env,
            stdio: ['pipe', 'ignore', 'pipe'],
            signal: settings.signal,
          })
        : spawnProgram(settings.psqlCommand ?? 'psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', ...connection, '-f', '-'], {
            plugin,
            env,
            stdio: ['pipe', 'ignore', 'pipe'],
            signal: settings.signal,
          });
    try {
      await feedLoader(dump, kind === 'plain' ? [pgPlainDumpGuard(plugin)] : [], loader);
    } catch (error) {
      throw explainPgFailure(error, conn, plugin);
    }
  });
}
