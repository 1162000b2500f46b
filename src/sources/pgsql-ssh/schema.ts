import { z } from 'zod';
import { text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';
import { PgsqlConnectionShape, PgsqlDumpShape } from '../sql/pg-schema.js';
import { SshConnectionShape } from '../ssh/schema.js';

export const PgsqlSshOptions = lazySchema(() => {
  const connection = PgsqlConnectionShape();
  const dump = PgsqlDumpShape();
  return z.object({
    ...SshConnectionShape(),
    ...connection,
    ...dump,
    dbhost: connection.dbhost.describe(
      'Database server as seen from sshhost: "localhost" or 127.0.0.1 for TCP there, or a socket directory such as /var/run/postgresql (with sshuser postgres, peer login needs no password).',
    ),
    dbpass: connection.dbpass.describe(
      'Password of dbuser; sent over the SSH channel into a temporary PGPASSFILE on sshhost (mode 0600, always removed), never put on a command line or in the environment.',
    ),
    dump_command: dump.dump_command.describe(
      'The pg_dump program on sshhost (default "pg_dump"); e.g. /usr/lib/postgresql/16/bin/pg_dump to match the server\'s major version.',
    ),
    dumpall_command: dump.dumpall_command.describe('The pg_dumpall program on sshhost (default "pg_dumpall").'),
    psql_command: text('The psql program on sshhost, used by dbname "*" and the dry-run check (default "psql").').optional(),
  });
});
export type PgsqlSshOptions = z.output<ReturnType<typeof PgsqlSshOptions>>;
