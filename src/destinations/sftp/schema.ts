import { z } from 'zod';
import { flag, port, secret, text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const SftpOptions = lazySchema(() =>
  z.object({
    host: text('SFTP (SSH) server to store backups on.'),
    port: port('SSH port of the server.').default(22),
    user: z.string().min(1).optional().describe('User to log in as (default: the user running the backup).'),
    identity_file: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Private key file to log in with (without passphrase; relative to the job file). Default: ssh-agent (SSH_AUTH_SOCK), then ~/.ssh/id_ed25519, id_ecdsa, id_rsa.',
      ),
    password: secret('Password for SSH password authentication; a key (identity_file) is preferred.').optional(),
    known_hosts: z
      .string()
      .min(1)
      .optional()
      .describe(
        'known_hosts file holding the server\'s host key (relative to the job file). The host key is always checked; default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.',
      ),
    path: text('Folder on the server to store backups in; relative paths start in the login folder (home, or the chroot).'),
    create: flag('Create the folder when it is missing (off by default: a missing folder usually means an unmounted disk on the server).').optional(),
    fsync: flag('Ask the server to fsync each file before it is renamed into place, when it supports fsync@openssh.com (default 1).').optional(),
    connect_timeout: z.coerce.number().positive().max(600).optional().describe('Seconds to wait for the connection and login (default 30).'),
  }),
);
export type SftpOptions = z.output<ReturnType<typeof SftpOptions>>;
