/**
 * `mysql`: MySQL or MariaDB databases dumped with mysqldump (mariadb-dump when installed)
 * into one artifact, `${id}.sql`. The dump code is shared with mysql-ssh and rds
 * (src/sources/sql/mysql-dump.ts).
 */
import { mysqlDumpProblems } from '../sql/mysql-schema.js';
import type { KeyProblem } from '../sql/types.js';
import { defineSource } from '../types.js';
import { MysqlOptions } from './schema.js';

export const mysqlSource = defineSource({
  type: 'mysql',
  description: 'MySQL or MariaDB databases, dumped with mysqldump (mariadb-dump) into one SQL file.',
  get options() {
    return MysqlOptions();
  },
  problems(options) {
    const problems: KeyProblem[] = [];
    if (options.dbhost === undefined && options.defaults === undefined) {
      problems.push({ key: 'dbhost', message: 'required (or "defaults": an option file whose [client] section names the host)' });
    }
    problems.push(...mysqlDumpProblems(options));
    return problems;
  },
  create: async (options, ctx) => (await import('./create.js')).create(options, ctx),
});
