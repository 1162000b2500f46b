/**
 * Credentials for a remote dumper (MySQL option file, pgpass) without ever putting them in a
 * remote argv (visible in `ps` to every user of that host) or environment: the content is sent
 * on the command's stdin, stored by a small POSIX sh script in a fresh `mktemp` file created
 * under `umask 077`, checked for completeness, and removed by an EXIT trap whatever the dumper
 * does. Only the byte count appears in the command line.
 */
import { shellQuote } from './remote-command.js';

/** How the wrapped command refers to the credentials file. */
export const SECRET_FILE = '"$f"';

/** Exit status of the wrapper itself (mktemp failed, the credentials did not arrive whole). */
export const WRAPPER_FAILED = 125;

export interface RemoteScript {
  /** The command line for the SSH channel: `sh -c '<script>'`. */
  command: string;
  /** What to write to the channel's stdin. */
  stdin?: Buffer;
}

/**
 * Wraps `body` (one line of POSIX sh; may use `"$f"` when `secret` is given) into one command. Always run
 * through `sh -c`, so a login shell that is not POSIX (fish, csh) still runs it the same way.
 */
export function remoteScript(body: string, secret?: string): RemoteScript {
  if (secret === undefined) return { command: `sh -c ${shellQuote(body)}` };
  const stdin = Buffer.from(secret, 'utf8');
  const n = stdin.length;
  const script = [
    'umask 077',
    `f=$(mktemp) || exit ${WRAPPER_FAILED}`,
    `trap 'rm -f "$f"' EXIT`,
    // A signal ends the shell through exit, which runs the EXIT trap.
    `trap 'exit 129' HUP INT TERM`,
    `{ head -c ${n} > "$f" && [ "$(wc -c < "$f")" -eq ${n} ]; } || { echo "the credentials did not arrive whole over SSH" >&2; exit ${WRAPPER_FAILED}; }`,
    body,
  ].join('; ');
  return { command: `sh -c ${shellQuote(script)}`, stdin };
}
