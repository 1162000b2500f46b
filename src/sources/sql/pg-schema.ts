/**
 * The job-file keys every PostgreSQL source (`pgsql`, and the `pgsql-ssh` and `rds-pgsql`
 * sources built on it) shares, as zod shapes to spread into a plugin's schema (built on first
 * use, as those schemas: lazySchema in src/plugin.ts), and the checks across them that a schema
 * cannot express (for a plugin's `problems()`). Plugin declarations import this module; the
 * dumps themselves are pg-dump.ts, loaded with a source's instance.
 */
import { z } from 'zod';
import { flag, port, secret, text, wordList } from '../../config/fields.js';
import { ShellWordsError, splitShellWords } from '../../lib/shell-words.js';
import { lazySchema } from '../../plugin.js';
import { longOption } from './long-option.js';
import type { KeyProblem } from './types.js';

/** How to reach and log in to the server. */
export const PgsqlConnectionShape = lazySchema(() => ({
  dbhost: text('Server host name or address (a path starting with / is a Unix socket directory).'),
  port: port('TCP port of the server.').default(5432),
  dbuser: text('Role to connect as (default: the operating-system user name).').optional(),
  dbpass: secret('Password of dbuser; written to a temporary PGPASSFILE (mode 0600), never put on a command line or in the environment.').optional(),
}));

export const PgsqlFormat = lazySchema(() =>
  z
    .enum(['plain', 'custom'])
    .describe('"plain" SQL (default, as the original; artifact .sql) or pg_dump\'s "custom" archive (artifact .dump, restored with pg_restore).'),
);
export type PgsqlFormat = z.output<ReturnType<typeof PgsqlFormat>>;

/** What to dump and how. */
export const PgsqlDumpShape = lazySchema(() => ({
  dbname: wordList(
    'Database(s) to dump: one name; several (space separated, or a list); or "*" for every database that accepts connections (templates excluded). One database gives the artifact <id>.sql; several or "*" give <id>.<dbname>.sql each.',
  ),
  format: PgsqlFormat().default('plain'),
  options: z
    .string()
    .optional()
    .describe('Extra pg_dump options as one string, split like a shell would (quotes respected) but never run by a shell, e.g. "--exclude-table=audit_log --no-owner".'),
  globals: flag('Also dump roles and tablespaces with "pg_dumpall --globals-only" as the artifact <id>.globals.sql (needs a superuser, or --no-role-passwords in dumpall_options).').optional(),
  dumpall_options: z.string().optional().describe('Extra pg_dumpall options for the globals dump, e.g. "--no-role-passwords".'),
  dump_command: text('The pg_dump program (default "pg_dump"); point it at the client matching the server\'s major version, e.g. /usr/lib/postgresql/16/bin/pg_dump.').optional(),
  dumpall_command: text('The pg_dumpall program (default "pg_dumpall").').optional(),
}));

export interface PgDumpSettings {
  dbname: string[];
  format?: PgsqlFormat;
  options?: string;
  globals?: boolean;
  dumpall_options?: string;
}

export function pgUserOptions(options: string | undefined): string[] {
  return options ? splitShellWords(options) : [];
}

/** Problems with the dump keys that a schema cannot express (for a plugin's `problems()`). */
export function pgDumpProblems(settings: PgDumpSettings): KeyProblem[] {
  const problems: KeyProblem[] = [];
  if (settings.dbname.includes('*') && settings.dbname.length > 1) {
    problems.push({ key: 'dbname', message: '"*" means every database: give it alone, or list names' });
  }
  for (const key of ['options', 'dumpall_options'] as const) {
    let words: string[];
    try {
      words = pgUserOptions(settings[key]);
    } catch (error) {
      if (error instanceof ShellWordsError) {
        problems.push({ key, message: error.message });
        continue;
      }
      throw error;
    }
    for (const word of words) {
      const name = longOption(word)?.name;
      const short = word.startsWith('-') && !word.startsWith('--') ? word.slice(0, 2) : undefined;
      if (short === '-W' || name === 'password') {
        problems.push({ key, message: 'no password options: set dbpass (it goes into a temporary pgpass file)' });
      } else if (short === '-f' || name === 'file') {
        problems.push({ key, message: `${word} writes the dump to a file: the runner reads the dump from the program's output; remove it` });
      } else if (short === '-F' || name === 'format') {
        problems.push({ key, message: 'use the "format" key (plain or custom), not a format option' });
      } else if (short === '-d' || name === 'dbname' || short === '-l' && key === 'dumpall_options') {
        problems.push({ key, message: 'use the "dbname" key to choose databases' });
      } else if (short === '-j' || name === 'jobs') {
        problems.push({ key, message: '--jobs needs the directory format, which cannot be streamed' });
      }
    }
  }
  return problems;
}
