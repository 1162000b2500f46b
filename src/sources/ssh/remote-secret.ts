/**
 * Credentials for a remote dumper (MySQL option file, pgpass) without ever putting them in a
 * remote argv (visible in `ps` to every user of that host) or environment: the content is sent
 * on the command's stdin, stored by a small POSIX sh script in a fresh `mktemp` file created
 * under `umask 077`, checked for completeness, and removed by an EXIT trap whatever the dumper
 * does. Only the byte count appears in the command line.
 *
 * The file must not outlive the connection. sshd sends no SIGHUP to a session without a
 * terminal, and a silent dumper (pg_dump waiting on a lock) gets no SIGPIPE either, so the
 * wrapper watches its stdin instead: the client keeps the channel's stdin open until the
 * command exited (remote-command.ts), so end-of-file there means the client aborted or the
 * connection is gone. The body runs in the background; a watcher subshell reads stdin with the
 * `read` builtin (no process of its own to leave behind) and, at end-of-file, stops the body
 * (its children first: a shell that forks the last command keeps it as a child). The wrapper
 * waits for the body, stops the watcher and exits with the body's status; HUP, INT and TERM
 * stop the body too (a background body ignores INT) before the EXIT trap removes the file.
 */
import { shellQuote } from '../../lib/shell-words.js';

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
    'b=',
    'w=',
    // Stops the watcher, then the body: its children first (pkill, where there is one), as its
    // pid would no longer name their parent once it is gone.
    'k() { [ -z "$w" ] || kill "$w" 2>/dev/null; [ -z "$b" ] || { pkill -TERM -P "$b" 2>/dev/null; kill -TERM "$b" 2>/dev/null; }; }',
    `trap 'k; rm -f "$f"' EXIT`,
    // A signal ends the shell through exit, which runs the EXIT trap (stopping the body too).
    `trap 'exit 129' HUP INT TERM`,
    `{ head -c ${n} > "$f" && [ "$(wc -c < "$f")" -eq ${n} ]; } || { echo "the credentials did not arrive whole over SSH" >&2; exit ${WRAPPER_FAILED}; }`,
    // A background command reads /dev/null (dumpers read nothing); fd 3 keeps the channel's stdin for the watcher.
    'exec 3<&0',
    `{ ${body.replace(/[\s;]+$/, '')}; } 3<&- & b=$!`,
    // The watcher writes nothing and holds no output of the channel open: sshd would wait for it.
    '(while read -r x; do :; done; pkill -TERM -P "$b"; kill -TERM "$b") <&3 >/dev/null 2>&1 & w=$!',
    'exec 3<&-',
    // (quiet: dash would report a body stopped by a signal as "Terminated")
    'wait "$b" 2>/dev/null',
    's=$?',
    'b=',
    'exit "$s"',
  ].join('; ');
  return { command: `sh -c ${shellQuote(script)}`, stdin };
}
