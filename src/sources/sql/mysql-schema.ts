/**
 * The job-file keys every MySQL-family source (`mysql`, and the `mysql-ssh` and `rds` sources
 * built on it) shares, as zod shapes to spread into a plugin's schema (built on first use, as
 * those schemas: lazySchema in src/plugin.ts), and the checks across them that a schema cannot
 * express (for a plugin's `problems()`). Plugin declarations import this module; the dump
 * itself is mysql-dump.ts, loaded with a source's instance.
 */
import { z } from 'zod';
import { flag, port, secret, text, wordList } from '../../config/fields.js';
import { ShellWordsError, splitShellWords } from '../../lib/shell-words.js';
import { lazySchema } from '../../plugin.js';
import { longOption } from './long-option.js';
import type { KeyProblem } from './types.js';

/** How to reach and log in to the server. */
export const MysqlConnectionShape = lazySchema(() => ({
  dbhost: text('Server host name or address. "localhost" means the local Unix socket, as with the mysql client.').optional(),
  port: port('TCP port of the server (default 3306).').optional(),
  dbuser: text('User to connect as.').optional(),
  dbpass: secret('Password of dbuser; written to a temporary option file (mode 0600), never put on a command line.').optional(),
  defaults: text(
    'An existing MySQL option file (e.g. /home/backups/.my.cnf, with a [client] section) passed as --defaults-file instead of a temporary one; dbuser and dbpass are then ignored, as the original did (dbhost and port still apply, on the command line).',
  ).optional(),
}));

/** What to dump and how. */
export const MysqlDumpShape = lazySchema(() => ({
  dbname: wordList(
    'Database(s) to dump into one file: one name, several separated by spaces, or a list; dumped with --databases as the original did (the dump recreates them by name).',
  ).optional(),
  options: z
    .string()
    .optional()
    .describe(
      'Extra mysqldump options as one string, split like a shell would (quotes respected) but never run by a shell. "--all-databases" makes dbname ignored. --single-transaction is added unless this says --lock-tables, --lock-all-tables or --skip-single-transaction.',
    ),
  noevents: flag('Do not pass --events to mysqldump (for servers older than MySQL 5.1).').optional(),
  dump_command: text('The dump program (default: mariadb-dump when installed, else mysqldump).').optional(),
}));

export interface MysqlDumpSettings {
  dbname?: string[];
  options?: string;
  noevents?: boolean;
}

/** The user's `options` split into words; throws ShellWordsError on unbalanced quotes. */
export function mysqlUserOptions(settings: MysqlDumpSettings): string[] {
  return settings.options ? splitShellWords(settings.options) : [];
}

/** Whether the words turn on the long option `long` (or give its short form). */
export function hasOption(words: readonly string[], long: string, short?: string): boolean {
  return words.some((w) => (short !== undefined && w === short) || (longOption(w)?.name === long && !longOption(w)?.negated));
}

/** Problems with `options` and `dbname` that a schema cannot express (for a plugin's `problems()`). */
export function mysqlDumpProblems(settings: MysqlDumpSettings): KeyProblem[] {
  let words: string[];
  try {
    words = mysqlUserOptions(settings);
  } catch (error) {
    if (error instanceof ShellWordsError) return [{ key: 'options', message: error.message }];
    throw error;
  }
  const problems: KeyProblem[] = [];
  for (const word of words) {
    const name = longOption(word)?.name;
    const short = word.startsWith('-') && !word.startsWith('--') ? word.slice(0, 2) : undefined;
    if (short === '-p' || name === 'password') {
      problems.push({ key: 'options', message: 'no password in options (command lines are visible to every user in ps): use dbpass or a defaults file' });
    } else if (name === 'defaults-file' || name === 'defaults-extra-file' || name === 'no-defaults' || name === 'defaults-group-suffix') {
      problems.push({ key: 'options', message: `${word.split('=')[0]} must be the first argument: use the "defaults" key instead` });
    } else if (name === 'result-file' || name === 'tab' || short === '-r' || short === '-T') {
      problems.push({ key: 'options', message: `${word} writes the dump to files instead of its output: the runner reads the dump from mysqldump's output; remove it` });
    }
  }
  const allDatabases = hasOption(words, 'all-databases', '-A');
  if (!allDatabases && (settings.dbname?.length ?? 0) === 0) {
    problems.push({ key: 'dbname', message: 'required (or "--all-databases" in options)' });
  }
  return problems;
}
