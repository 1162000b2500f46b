/**
 * The SSH keys every `*-ssh` source shares (spread into each plugin's schema), named as the
 * original tool's job files name them: `sshhost`, `sshuser`. Built on first use, as the
 * schemas that spread them (lazySchema in src/plugin.ts). The connection target they
 * describe is target.ts (the connection itself is src/lib/ssh/connection.ts).
 */
import { z } from 'zod';
import { port, secret, text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const SshConnectionShape = lazySchema(() => ({
  sshhost: text('Host to connect to over SSH (name or address).'),
  sshuser: z.string().min(1).optional().describe('User to log in as on sshhost (default: the user running the backup).'),
  sshport: port('SSH port of sshhost.').default(22),
  identity_file: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Private key file to log in with (OpenSSH, PEM or PuTTY format, without passphrase; relative to the job file). Default: ssh-agent (SSH_AUTH_SOCK), then ~/.ssh/id_ed25519, id_ecdsa, id_rsa.',
    ),
  known_hosts: z
    .string()
    .min(1)
    .optional()
    .describe(
      'known_hosts file holding the host key of sshhost (relative to the job file). The host key is always checked; default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.',
    ),
  ssh_password: secret('Password for SSH password authentication; a key (identity_file) is preferred.').optional(),
  ssh_connect_timeout: z.coerce
    .number()
    .positive()
    .max(600)
    .optional()
    .describe('Seconds to wait for the SSH connection and login (default 30).'),
}));

/** The SSH keys as one object type, for code shared by the ssh sources. */
export type SshConnectionOptions = z.output<z.ZodObject<ReturnType<typeof SshConnectionShape>>>;

/** Secret keys of the shared SSH settings, for each plugin's `secrets`. */
export const SSH_SECRET_KEYS = ['ssh_password'] as const;
