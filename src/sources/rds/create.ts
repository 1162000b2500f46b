/**
 * The rds source's instance: the RDS snapshot source (src/sources/aws/rds-source.ts) dumping the
 * restored instance with mysqldump. Loaded only when a job uses the source (index.ts declares it).
 */
import { createRdsDumpSource } from '../aws/rds-source.js';
import { mysqlDumpArtifacts } from '../sql/mysql-dump.js';
import type { Source, SourceOptions } from '../types.js';
import type { RdsOptions } from './schema.js';

export function create(options: SourceOptions<ReturnType<typeof RdsOptions>>): Source {
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
}
