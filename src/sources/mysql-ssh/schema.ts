import { z } from 'zod';
import { lazySchema } from '../../plugin.js';
import { MysqlConnectionShape, MysqlDumpShape } from '../sql/mysql-schema.js';
import { SshConnectionShape } from '../ssh/schema.js';

export const MysqlSshOptions = lazySchema(() => {
  const connection = MysqlConnectionShape();
  const dump = MysqlDumpShape();
  return z.object({
    ...SshConnectionShape(),
    ...connection,
    ...dump,
    dbhost: connection.dbhost.describe(
      'Database server as seen from sshhost (default: the client default there, usually the local socket; "localhost" means the socket, 127.0.0.1 TCP).',
    ),
    dbpass: connection.dbpass.describe(
      'Password of dbuser; sent over the SSH channel into a temporary option file on sshhost (mode 0600, always removed), never put on a command line.',
    ),
    defaults: connection.defaults.describe(
      'An option file ON sshhost (e.g. /root/.my.cnf, with a [client] section) passed as --defaults-file; dbuser and dbpass are then ignored. Without dbuser, dbpass and defaults, mysqldump on sshhost uses its own defaults (~/.my.cnf of sshuser, unix_socket login).',
    ),
    dump_command: dump.dump_command.describe('The dump program on sshhost (default: mariadb-dump when installed there, else mysqldump).'),
  });
});
export type MysqlSshOptions = z.output<ReturnType<typeof MysqlSshOptions>>;
