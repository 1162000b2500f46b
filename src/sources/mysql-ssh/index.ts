/**
 * `mysql-ssh`: MySQL or MariaDB databases dumped by mysqldump ON another host, over SSH, into
 * one artifact `${id}.sql`. The argv and the option file come from the local mysql source's
 * shared code (src/sources/sql/mysql-dump.ts). Unlike the original tool, the password never
 * goes into the remote command line: the option file travels on the channel's stdin into a
 * private temporary file on the host, removed whatever happens (src/sources/ssh/remote-secret.ts).
 */
import { mysqlDumpProblems } from '../sql/mysql-schema.js';
import { SSH_SECRET_KEYS } from '../ssh/schema.js';
import { defineSource } from '../types.js';
import { MysqlSshOptions } from './schema.js';

export const mysqlSshSource = defineSource({
  type: 'mysql-ssh',
  description: 'MySQL or MariaDB databases dumped by mysqldump on another host over SSH, into one SQL file.',
  get options() {
    return MysqlSshOptions();
  },
  secrets: SSH_SECRET_KEYS,
  problems(options) {
    return mysqlDumpProblems(options);
  },
  create: async (options, ctx) => (await import('./create.js')).create(options, ctx),
});
