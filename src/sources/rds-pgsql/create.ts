/**
 * The rds-pgsql source's instance: the RDS snapshot source (src/sources/aws/rds-source.ts)
 * dumping the restored instance with pg_dump. Loaded only when a job uses the source (index.ts
 * declares it).
 */
import { createRdsDumpSource } from '../aws/rds-source.js';
import { pgDumpArtifacts } from '../sql/pg-dump.js';
import type { Source, SourceOptions } from '../types.js';
import type { RdsPgsqlOptions } from './schema.js';

export function create(options: SourceOptions<ReturnType<typeof RdsPgsqlOptions>>): Source {
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
}
