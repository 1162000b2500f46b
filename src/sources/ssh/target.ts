/**
 * The connection target the shared SSH keys (schema.ts) describe, for the `*-ssh` sources'
 * instances (the connection itself is src/lib/ssh/connection.ts).
 */
import { sshTargetOf, type SshTarget } from '../../lib/ssh/connection.js';
import type { SshConnectionOptions } from './schema.js';

/** Where and how to log in, from the keys (relative paths start at the job file's folder). */
export function sshTargetFromOptions(options: SshConnectionOptions, job: { path: string }): SshTarget {
  return sshTargetOf(
    {
      host: options.sshhost,
      port: options.sshport,
      user: options.sshuser,
      identityFile: options.identity_file,
      password: options.ssh_password,
      knownHosts: options.known_hosts,
      connectTimeoutSeconds: options.ssh_connect_timeout,
    },
    job,
  );
}
