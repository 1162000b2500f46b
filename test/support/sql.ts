/**
 * Helpers for database source tests: run SQL on the machine's MariaDB (root, no password)
 * and PostgreSQL (trust auth), collect a source's artifacts, and describe a database
 * (schema listings and every row) so a restored copy can be compared with the original.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { silentLogger } from '../../src/log.js';
import { runProgram } from './run.js';
import type { Artifact, Source, SourceContext } from '../../src/sources/types.js';

export const MYSQL_HOST = '127.0.0.1';
export const PG_HOST = '127.0.0.1';
export const PG_PORT = 5432;

export type { RunResult } from './run.js';

export function run(command: string, args: readonly string[], options: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}) {
  return runProgram(command, args, options);
}

async function ok(command: string, args: readonly string[], input?: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const result = await run(command, args, { input, env });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** A short random suffix for database and user names. */
export function suffix(): string {
  return randomBytes(4).toString('hex');
}

/** SQL as MariaDB root over TCP; returns batch output without column names. */
export function mysqlRoot(sql: string, database?: string): Promise<string> {
  const args = ['-h', MYSQL_HOST, '-u', 'root', '--batch', '--skip-column-names', '--default-character-set=utf8mb4'];
  if (database) args.push(`--database=${database}`);
  return ok('mariadb', args, sql);
}

/** SQL through psql as postgres (trust on the machine's cluster unless `password` is given). */
export function psqlAs(sql: string, options: { database?: string; port?: number; user?: string; password?: string } = {}): Promise<string> {
  const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', PG_HOST, '-p', String(options.port ?? PG_PORT), '-U', options.user ?? 'postgres', '-d', options.database ?? 'postgres'];
  const env = { ...process.env, PGPASSWORD: options.password };
  if (options.password === undefined) delete env.PGPASSWORD;
  return ok('psql', args, sql, env);
}

export function sourceContext(tmpdir: string, signal: AbortSignal = new AbortController().signal): SourceContext {
  return { job: { path: '/job.json', name: 'job', hostname: 'host' }, tmpdir, logger: silentLogger, signal };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface CollectedArtifact {
  name: string;
  data: Buffer;
  /** undefined when `done` resolved, else its rejection. */
  error?: unknown;
}

/** Iterates a source's artifacts like the pipeline does: read each stream, then await its done. */
export async function collectArtifacts(artifacts: AsyncIterable<Artifact>): Promise<CollectedArtifact[]> {
  const out: CollectedArtifact[] = [];
  for await (const artifact of artifacts) {
    const data = await readAll(artifact.stream);
    const error = await artifact.done.then(
      () => undefined,
      (e: unknown) => e ?? new Error('rejected'),
    );
    out.push({ name: artifact.name, data, error });
  }
  return out;
}

/** Schema listings and every row of a MariaDB database, with the database's own name masked. */
export async function describeMysqlDatabase(db: string): Promise<Record<string, string>> {
  const lit = `'${db}'`;
  const q = (sql: string) => mysqlRoot(sql).then((s) => s.split(db).join('<db>'));
  const tables = (await mysqlRoot(`SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=${lit} AND TABLE_TYPE='BASE TABLE' ORDER BY 1;`)).split('\n').filter(Boolean);
  const out: Record<string, string> = {
    tables: await q(`SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA=${lit} ORDER BY 1;`),
    columns: await q(
      `SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, COLLATION_NAME, COLUMN_KEY, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=${lit} ORDER BY 1, 3;`,
    ),
    views: await q(`SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA=${lit} ORDER BY 1;`),
    routines: await q(
      `SELECT ROUTINE_NAME, ROUTINE_TYPE, DATA_TYPE, ROUTINE_DEFINITION, IS_DETERMINISTIC, SQL_DATA_ACCESS FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA=${lit} ORDER BY 1;`,
    ),
    parameters: await q(`SELECT SPECIFIC_NAME, ORDINAL_POSITION, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA=${lit} ORDER BY 1, 2;`),
    triggers: await q(
      `SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA=${lit} ORDER BY 1;`,
    ),
    events: await q(`SELECT EVENT_NAME, EVENT_DEFINITION, INTERVAL_VALUE, INTERVAL_FIELD, STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA=${lit} ORDER BY 1;`),
    indexes: await q(`SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA=${lit} ORDER BY 1, 2, 3;`),
  };
  for (const table of tables) {
    out[`rows:${table}`] = await mysqlRoot(`SELECT * FROM \`${table}\` ORDER BY 1;`, db);
    out[`checksum:${table}`] = (await mysqlRoot(`CHECKSUM TABLE \`${table}\` EXTENDED;`, db)).split('\t')[1] ?? '';
  }
  return out;
}

/** Schema listings and every row of a PostgreSQL database. */
export async function describePgDatabase(db: string, options: { port?: number; user?: string; password?: string } = {}): Promise<Record<string, string>> {
  const q = (sql: string) => psqlAs(sql, { ...options, database: db });
  const schemas = "table_schema NOT IN ('pg_catalog', 'information_schema')";
  const tables = (await q(`SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables WHERE ${schemas} AND table_type = 'BASE TABLE' ORDER BY 1;`))
    .split('\n')
    .filter(Boolean);
  const out: Record<string, string> = {
    tables: await q(`SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE ${schemas} ORDER BY 1, 2;`),
    columns: await q(
      `SELECT table_schema, table_name, column_name, ordinal_position, data_type, udt_name, is_nullable, column_default, character_maximum_length, numeric_precision, numeric_scale FROM information_schema.columns WHERE ${schemas} ORDER BY 1, 2, 4;`,
    ),
    views: await q(`SELECT table_schema, table_name, view_definition FROM information_schema.views WHERE ${schemas} ORDER BY 1, 2;`),
    routines: await q(
      `SELECT routine_schema, routine_name, routine_type, data_type, routine_definition, external_language FROM information_schema.routines WHERE routine_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2;`,
    ),
    triggers: await q(
      `SELECT trigger_schema, trigger_name, event_manipulation, event_object_table, action_timing, action_orientation, action_statement FROM information_schema.triggers ORDER BY 1, 2, 3;`,
    ),
    constraints: await q(`SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1;`),
    indexes: await q(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog') ORDER BY 1;`),
    sequences: await q(`SELECT sequencename, last_value, increment_by FROM pg_sequences ORDER BY 1;`),
    comments: await q(`SELECT c.relname, d.description FROM pg_description d JOIN pg_class c ON c.oid = d.objoid WHERE d.objsubid = 0 ORDER BY 1;`),
  };
  for (const table of tables) {
    // COPY's text format shows NULL as \N and bytea as hex: an exact, comparable picture of every row.
    out[`rows:${table}`] = await q(`COPY (SELECT * FROM ${table} ORDER BY 1) TO STDOUT;`);
  }
  return out;
}

/** Runs a source to the end as the pipeline would (cleanup included) and collects its artifacts. */
export async function dumpSource(source: Source, ctx: SourceContext): Promise<CollectedArtifact[]> {
  try {
    return await collectArtifacts(source.open(ctx));
  } finally {
    await source.cleanup?.(ctx);
  }
}
