/**
 * `pgsql` (aliases `postgres`, `postgresql`): PostgreSQL databases dumped with pg_dump, one
 * artifact per database, plus the roles with pg_dumpall --globals-only when asked. The dump
 * code is shared with pgsql-ssh and rds-pgsql (src/sources/sql/pg-dump.ts).
 */
import { pgDumpProblems } from '../sql/pg-schema.js';
import { defineSource } from '../types.js';
import { PgsqlOptions } from './schema.js';

export const pgsqlSource = defineSource({
  type: 'pgsql',
  aliases: ['postgres', 'postgresql'],
  description: 'PostgreSQL databases, dumped with pg_dump (plain SQL or custom format), roles with pg_dumpall --globals-only.',
  get options() {
    return PgsqlOptions();
  },
  problems(options) {
    return pgDumpProblems(options);
  },
  create: async (options) => (await import('./create.js')).create(options),
});
