/**
 * `pgsql-ssh`: PostgreSQL databases dumped by pg_dump ON another host, over SSH: one artifact
 * per database, plus the roles with pg_dumpall --globals-only when asked, as the local pgsql
 * source (whose argv and naming code in src/sources/sql/pg-dump.ts this reuses). The password
 * travels on the channel's stdin into a private temporary PGPASSFILE on the host, removed
 * whatever happens; it is never in a remote command line or environment.
 */
import { pgDumpProblems } from '../sql/pg-schema.js';
import { SSH_SECRET_KEYS } from '../ssh/schema.js';
import { defineSource } from '../types.js';
import { PgsqlSshOptions } from './schema.js';

export const pgsqlSshSource = defineSource({
  type: 'pgsql-ssh',
  aliases: ['postgresql-ssh'],
  description: 'PostgreSQL databases dumped by pg_dump on another host over SSH (plain SQL or custom format).',
  get options() {
    return PgsqlSshOptions();
  },
  secrets: SSH_SECRET_KEYS,
  problems(options) {
    return pgDumpProblems(options);
  },
  create: async (options, ctx) => (await import('./create.js')).create(options, ctx),
});
