/**
 * `rds-pgsql`: an RDS PostgreSQL instance, backed up from its newest automated snapshot
 * restored to a temporary instance, dumped with pg_dump (src/sources/sql/pg-dump.ts), then
 * deleted (src/sources/aws/).
 */
import { createRdsDumpSource } from '../aws/rds-source.js';
import { pgDumpArtifacts, pgDumpProblems } from '../sql/pg-dump.js';
import { defineSource } from '../types.js';
import { RdsPgsqlOptions } from './schema.js';

export const rdsPgsqlSource = defineSource({
  type: 'rds-pgsql',
  description: 'RDS PostgreSQL: the newest automated snapshot restored to a temporary instance, dumped with pg_dump, then deleted.',
  options: RdsPgsqlOptions,
  problems(options) {
    return pgDumpProblems(options);
  },
  create(options) {
    return createRdsDumpSource(options, {
      engines: ['postgres'],
      otherEngineHint: (engine) => (/mysql|mariadb/.test(engine) ? 'use "type": "rds"' : 'the rds-pgsql source dumps PostgreSQL only'),
      dump: (endpoint, ctx, files) =>
        pgDumpArtifacts(
          {
            id: options.id,
            dbhost: endpoint.address,
            port: endpoint.port,
            dbuser: options.dbuser,
            dbpass: options.dbpass,
            dbname: options.dbname,
            format: options.format,
            options: options.options,
            globals: options.globals,
            dumpall_options: options.dumpall_options,
            dump_command: options.dump_command,
            dumpall_command: options.dumpall_command,
          },
          ctx,
          files,
        ),
    });
  },
});
