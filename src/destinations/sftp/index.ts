/**
 * `sftp`: a folder on an SSH server, over SFTP (ssh2). Host key checked against known_hosts.
 * Atomic put: upload to a hidden `.name.partial-<random>` in the target folder, fsync, then
 * rename into place (posix-rename@openssh.com, which replaces atomically, when offered); on
 * error or abort the temporary file is removed. One connection per destination, reused.
 */
import { defineDestination } from '../types.js';
import { SftpOptions } from './schema.js';

export const sftpDestination = defineDestination({
  type: 'sftp',
  description: 'A folder on an SSH server, over SFTP.',
  get options() {
    return SftpOptions();
  },
  create: async (options, ctx) => (await import('./create.js')).create(options, ctx),
});
