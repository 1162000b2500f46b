/**
 * `rds`: an RDS MySQL or MariaDB instance, backed up from its newest automated snapshot
 * restored to a temporary instance (no load on the live database), dumped with mysqldump
 * (src/sources/sql/mysql-dump.ts), then deleted (src/sources/aws/).
 */
import { mysqlDumpProblems } from '../sql/mysql-schema.js';
import { defineSource } from '../types.js';
import { RdsOptions } from './schema.js';

export const rdsSource = defineSource({
  type: 'rds',
  description: 'RDS MySQL/MariaDB: the newest automated snapshot restored to a temporary instance, dumped with mysqldump, then deleted.',
  get options() {
    return RdsOptions();
  },
  problems(options) {
    return mysqlDumpProblems(options);
  },
  create: async (options) => (await import('./create.js')).create(options),
});
