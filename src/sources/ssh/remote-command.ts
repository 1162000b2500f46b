/**
 * Running a program on the SSH host as `spawnProgram` runs one here: stdout is the stream,
 * `done` settles with the remote exit status (rejecting on non-zero, a signal, or a
 * connection lost before the status arrived, even if stdout already ended), and the
 * redacted tail of the remote stderr goes into the error.
 */
import type { Readable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { INSTALL_HINTS } from '../../lib/process.js';
import { OutputTail } from '../../lib/output-tail.js';
import { redact } from '../../secrets.js';
import type { SshSession } from '../../lib/ssh/connection.js';

/** `sudo -n` in front when asked (never prompts: a missing sudoers rule fails at once). */
export function withSudo(argv: readonly string[], sudo: boolean | undefined): string[] {
  return sudo ? ['sudo', '-n', ...argv] : [...argv];
}

export interface RemoteCommandOptions {
  /** Label in messages ("tar", "mysqldump"). */
  label: string;
  /**
   * Written to the command's stdin (credentials travel this way), which then stays open until
   * the command exited or the run is aborted: the credentials wrapper (remote-secret.ts) takes
   * end-of-file there for a lost connection and stops the command. Without it, stdin is closed
   * at once.
   */
  stdin?: Buffer | string;
  /** Exit codes that mean success with a warning (tar's 1). */
  warnOn?: readonly number[];
  signal?: AbortSignal;
}

export interface RemoteProgram {
  stdout: Readable;
  /** Resolves on exit 0 (or a warn code) once stdout was read to the end; rejects otherwise. */
  done: Promise<void>;
  warnings: string[];
  stderrTail(): string;
  /** Asks the remote program to stop (SIGTERM), then closes the channel. */
  abort(): void;
}

function notFound(label: string, where: string): string {
  const hint = INSTALL_HINTS[label];
  return `${label} not found on ${where} (remote exit 127)${hint ? `; install it there (${hint})` : ''} or set the command path option`;
}

interface ChannelInternals {
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal?: (id: number, signal: string) => void } };
}

/**
 * Sends an SSH "signal" request (OpenSSH 7.9+ delivers it to the command's process group).
 * ssh2's public `channel.signal()` does nothing once stdin was closed, which most commands
 * here do at once, so the protocol call is made directly (ssh2 is pinned for this reason).
 * Servers without signal support still stop a program that writes once its channel closes,
 * and the credentials wrapper stops a silent one when closing the channel ends its stdin.
 */
function sendSignal(channel: ClientChannel, name: string): void {
  const internals = channel as unknown as ChannelInternals;
  const id = internals.outgoing?.id;
  const protocol = internals._client?._protocol;
  try {
    if (typeof id === 'number' && internals.outgoing?.state !== 'closed' && typeof protocol?.signal === 'function') protocol.signal(id, name);
    else channel.signal(name);
  } catch {
    // the channel is already gone
  }
}

export async function runRemote(session: SshSession, command: string, options: RemoteCommandOptions): Promise<RemoteProgram> {
  if (options.signal?.aborted) throw session.fail(`${options.label} on ${session.where} was not started: the run was aborted`);
  const channel = await session.exec(command);
  const tail = new OutputTail().follow(channel.stderr);
  const stderrTail = () => redact(tail.toString().trim());
  const warnings: string[] = [];
  let aborted = false;
  const abort = () => {
    if (aborted) return;
    aborted = true;
    sendSignal(channel, 'TERM');
    channel.close();
    // Nobody reads the output any more: drain it so the channel can end and report its status.
    channel.resume();
  };
  options.signal?.addEventListener('abort', abort, { once: true });

  const done = new Promise<void>((resolvePromise, reject) => {
    let channelError: Error | undefined;
    channel.on('error', (error: Error) => {
      channelError = error;
    });
    channel.once('close', (code: number | null | undefined, signal?: string) => {
      options.signal?.removeEventListener('abort', abort);
      const label = `${options.label} on ${session.where}`;
      if (code === 0 && !aborted) return resolvePromise();
      if (typeof code === 'number' && code !== 0 && options.warnOn?.includes(code) && !aborted) {
        warnings.push(`${label} exited ${code}: ${stderrTail().split('\n').slice(-3).join(' | ') || 'no message'}`);
        return resolvePromise();
      }
      const errorOptions = { exitCode: code ?? null, signal: signal ?? null, stderrTail: stderrTail(), cause: channelError ?? session.lastError() };
      if (aborted) return reject(session.fail(`${label} was stopped: the run was aborted`, errorOptions));
      if (code === 127) return reject(session.fail(notFound(options.label, session.where), errorOptions));
      if (typeof code === 'number') return reject(session.fail(`${label} exited ${code}`, errorOptions));
      if (signal) return reject(session.fail(`${label} was killed by SIG${signal.replace(/^SIG/, '')}`, errorOptions));
      const why = channelError ?? session.lastError();
      return reject(
        session.fail(`the SSH connection to ${session.where} ended before ${options.label} reported its exit status${why ? ` (${why.message})` : ''}: the output may be truncated`, errorOptions),
      );
    });
  });
  // The rejection is handled by whoever awaits `done`; avoid an unhandled rejection before that.
  done.catch(() => undefined);

  if (options.stdin !== undefined) {
    channel.write(options.stdin);
    // The exit status arrived: the command is over, end-of-file can no longer stop it.
    channel.once('exit', () => channel.end());
  } else channel.end();
  return { stdout: channel, done, warnings, stderrTail, abort };
}

/** Runs a short command and returns its stdout (rejects like `runRemote`). */
export async function captureRemote(session: SshSession, command: string, options: RemoteCommandOptions): Promise<string> {
  const program = await runRemote(session, command, options);
  const chunks: Buffer[] = [];
  program.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  await program.done;
  return Buffer.concat(chunks).toString('utf8');
}
