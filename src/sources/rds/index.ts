/**
 * `rds`: an RDS MySQL or MariaDB instance, backed up from its newest automated snapshot
 * restored to a temporary instance (no load on the live database), dumped with mysqldump
 * (src/sources/sql/mysql-dump.ts), then deleted (src/sources/aws/).
 */
import { createRdsDumpSource } from '../aws/rds-source.js';
import { mysqlDumpArtifacts, mysqlDumpProblems } from '../sql/mysql-dump.js';
import { defineSource } from '../types.js';
import { RdsOptions } from './schema.js';

export const rdsSource = defineSource({
  type: 'rds',
  description: 'RDS MySQL/MariaDB: the newest automated snapshot restored to a temporary instance, dumped with mysqldump, then deleted.',
  options: RdsOptions,
  problems(options) {
    return mysqlDumpProblems(options);
  },
  create(options) {
    return createRdsDumpSource(options, {
      engines: ['mysql', 'mariadb'],
      otherEngineHint: (engine) => (engine.includes('postgres') ? 'use "type": "rds-pgsql"' : 'the rds source dumps MySQL and MariaDB only'),
      dump: (endpoint, ctx, files) =>
        mysqlDumpArtifacts(
          {
            id: options.id,
            dbhost: endpoint.address,
            port: endpoint.port,
            dbuser: options.dbuser,
            dbpass: options.dbpass,
            dbname: options.dbname,
            options: options.options,
            noevents: options.noevents,
            dump_command: options.dump_command,
          },
          ctx,
          files,
        ),
    });
  },
});
