/**
 * Loading a mysqldump file into a chosen database (`backup restore --to-database NAME`).
 *
 * A one-database dump made the original's way has no CREATE DATABASE/USE and simply loads
 * into the target. A dump made with --databases names its database itself; loading it as is
 * would write into the ORIGINAL database (a production one, typically). Such statements are
 * rewritten to the target when the dump holds one database, and the restore stops before
 * the first statement of a second database.
 */
import type { Readable } from 'node:stream';
import { SourceError } from '../../errors.js';
import { spawnProgram } from '../../lib/process.js';
import type { RestoreTarget } from '../types.js';
import { LineFilter } from './line-filter.js';
import { defaultsFileArgument, explainMysqlFailure, mysqlClientCommand, mysqlOptionFile, mysqlOptionFilePath, mysqlServerArgs, type MysqlConnection } from './mysql-dump.js';
import { feedLoader, runClient } from './programs.js';
import { withSecretFile, type SecretFiles } from './secret-files.js';

export function quoteMysqlIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** A string literal that means the same with or without NO_BACKSLASH_ESCAPES (names with \ are refused earlier). */
export function quoteMysqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function checkMysqlDatabaseName(name: string, plugin: string): void {
  if (name.length === 0 || name.length > 64 || /[\\\0/]/.test(name) || name !== name.trimEnd()) {
    throw new SourceError(`"${name}" is not a usable MySQL database name (1-64 characters, no \\, / or NUL, no trailing space)`, { plugin });
  }
}

const BACKTICK_NAME = '`((?:[^`]|``)+)`';
const DATABASE_STATEMENTS: readonly { prefix: string; pattern: RegExp }[] = [
  { prefix: 'CREATE DATABASE ', pattern: new RegExp(`^(CREATE DATABASE (?:/\\*!32312 IF NOT EXISTS\\*/ |IF NOT EXISTS )?)${BACKTICK_NAME}`) },
  { prefix: 'USE `', pattern: new RegExp(`^(USE )${BACKTICK_NAME}`) },
  { prefix: 'ALTER DATABASE `', pattern: new RegExp(`^(ALTER DATABASE )${BACKTICK_NAME}`) },
  { prefix: '/*!40000 DROP DATABASE ', pattern: new RegExp(`^(/\\*!40000 DROP DATABASE (?:IF EXISTS )?)${BACKTICK_NAME}`) },
];

/**
 * Rewrites the database name of mysqldump's own CREATE DATABASE / USE / ALTER DATABASE /
 * DROP DATABASE lines to `target`; fails on a second database name (a --databases or
 * --all-databases dump of several databases cannot go into one).
 */
export function mysqlDatabaseRenamer(target: string, plugin: string): LineFilter {
  let original: string | undefined;
  return new LineFilter(
    DATABASE_STATEMENTS.map((s) => s.prefix),
    (line) => {
      for (const { pattern } of DATABASE_STATEMENTS) {
        const m = pattern.exec(line);
        if (!m) continue;
        const name = m[2]!.replace(/``/g, '`');
        if (original === undefined) original = name;
        else if (name !== original) {
          throw new SourceError(
            `the dump holds more than one database (${original}, then ${name}): --to-database loads one database; stopped before ${name} (${target} holds what came before). Load a multi-database dump with the mysql client.`,
            { plugin },
          );
        }
        return `${m[1]}${quoteMysqlIdentifier(target)}${line.slice(m[0].length)}`;
      }
      if (line.startsWith('CREATE DATABASE ')) {
        throw new SourceError('the dump has a CREATE DATABASE statement this restore does not understand; load it with the mysql client', { plugin });
      }
      return line;
    },
  );
}

export interface MysqlRestoreSettings {
  plugin: string;
  conn: MysqlConnection;
  files: SecretFiles;
  signal?: AbortSignal;
  /** The client program (default: mariadb, else mysql). */
  clientCommand?: string;
}

/** Count of tables, views, routines and events in `database`, or undefined when it does not exist. */
export async function mysqlDatabaseObjects(database: string, settings: MysqlRestoreSettings, optionFile: string | undefined): Promise<number | undefined> {
  const name = quoteMysqlString(database);
  const sql = [
    `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${name};`,
    `SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${name})`,
    ` + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${name})`,
    ` + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${name});`,
  ].join('\n');
  const out = await mysqlQuery(sql, settings, optionFile);
  const [exists, objects] = out.trim().split('\n').map((line) => Number(line.trim()));
  return exists ? (objects ?? 0) : undefined;
}

/** Runs SQL through the client (batch mode, no column names) and returns its output. */
export async function mysqlQuery(sql: string, settings: MysqlRestoreSettings, optionFile: string | undefined, database?: string): Promise<string> {
  const args = [...defaultsFileArgument(optionFile), ...mysqlServerArgs(settings.conn), '--batch', '--skip-column-names', '--default-character-set=utf8mb4'];
  if (database !== undefined) args.push(`--database=${database}`);
  try {
    return await runClient(settings.clientCommand ?? mysqlClientCommand(), args, { plugin: settings.plugin, input: sql, signal: settings.signal });
  } catch (error) {
    throw explainMysqlFailure(error, settings.conn, settings.plugin);
  }
}

/**
 * Loads `dump` into `target.database`: refuses a database holding tables, views, routines or
 * events unless `force`, creates it when missing, and pipes the dump into the client.
 */
export async function restoreMysqlDump(dump: Readable, target: RestoreTarget, settings: MysqlRestoreSettings): Promise<void> {
  const { plugin, conn } = settings;
  checkMysqlDatabaseName(target.database, plugin);
  const content = conn.defaults ? undefined : mysqlOptionFile(conn);
  await withSecretFile(settings.files, 'mysql-client.cnf', content, async (temporary) => {
    const optionFile = mysqlOptionFilePath(conn, temporary);
    const objects = await mysqlDatabaseObjects(target.database, settings, optionFile);
    if (objects === undefined) {
      await mysqlQuery(`CREATE DATABASE ${quoteMysqlIdentifier(target.database)};`, settings, optionFile);
    } else if (objects > 0 && !target.force) {
      throw new SourceError(
        `database ${target.database} already exists and holds ${objects} table(s)/routine(s)/event(s): refusing to load into it. Choose another --to-database, or pass --force to load anyway.`,
        { plugin },
      );
    }
    // --binary-mode: the dump's BLOBs arrive as raw bytes; without it the client would stop at a NUL and turn \r\n into \n.
    const args = [...defaultsFileArgument(optionFile), ...mysqlServerArgs(conn), '--binary-mode', '--batch', `--database=${target.database}`];
    const loader = spawnProgram(settings.clientCommand ?? mysqlClientCommand(), args, {
      plugin,
      stdio: ['pipe', 'ignore', 'pipe'],
      signal: settings.signal,
    });
    try {
      await feedLoader(dump, [mysqlDatabaseRenamer(target.database, plugin)], loader);
    } catch (error) {
      throw explainMysqlFailure(error, conn, plugin);
    }
  });
}
