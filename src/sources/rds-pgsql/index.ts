/**
 * `rds-pgsql`: an RDS PostgreSQL instance, backed up from its newest automated snapshot
 * restored to a temporary instance, dumped with pg_dump (src/sources/sql/pg-dump.ts), then
 * deleted (src/sources/aws/).
 */
import { pgDumpProblems } from '../sql/pg-schema.js';
import { defineSource } from '../types.js';
import { RdsPgsqlOptions } from './schema.js';

export const rdsPgsqlSource = defineSource({
  type: 'rds-pgsql',
  description: 'RDS PostgreSQL: the newest automated snapshot restored to a temporary instance, dumped with pg_dump, then deleted.',
  get options() {
    return RdsPgsqlOptions();
  },
  problems(options) {
    return pgDumpProblems(options);
  },
  create: async (options) => (await import('./create.js')).create(options),
});
