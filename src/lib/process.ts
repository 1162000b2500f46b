/**
 * Spawning the external programs the pipeline and the sources stream through (tar, zstd,
 * dumpers). One place decides what an exit status means, keeps the stderr tail for the error,
 * redacts it, and turns "command not found" into an install hint.
 *
 * node:child_process is used directly rather than execa for these: the pipeline hands one
 * child's stdout pipe straight to the next child's stdin (an OS pipe Node never reads from),
 * which needs the raw ChildProcess handles. Short one-shot commands use execa.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { BackupError, SourceError, PipelineError, type ErrorLayer } from '../errors.js';
import { redact } from '../secrets.js';
import { OutputTail } from './output-tail.js';

/** How to get the program on Debian/Ubuntu, for the "not found" error. */
export const INSTALL_HINTS: Record<string, string> = {
  tar: 'apt-get install tar',
  zstd: 'apt-get install zstd',
  gzip: 'apt-get install gzip',
  gpg: 'apt-get install gnupg',
  mysqldump: 'apt-get install mariadb-client (or default-mysql-client)',
  'mariadb-dump': 'apt-get install mariadb-client',
  mysql: 'apt-get install mariadb-client',
  mariadb: 'apt-get install mariadb-client',
  pg_dump: 'apt-get install postgresql-client',
  pg_dumpall: 'apt-get install postgresql-client',
  psql: 'apt-get install postgresql-client',
  smbclient: 'apt-get install smbclient',
  ssh: 'apt-get install openssh-client',
  sudo: 'apt-get install sudo',
};

export function notFoundMessage(command: string): string {
  const name = command.split('/').pop() ?? command;
  const hint = INSTALL_HINTS[name];
  return `${name} not found on PATH${hint ? `; install it with: ${hint}` : ''}`;
}

/** How long a program asked to stop (SIGTERM) may take before it is killed (SIGKILL). */
export const KILL_GRACE_MS = 3000;

/**
 * Programs' exits in the order they happened (the 'exit' event, not 'close', which waits for
 * the pipes to drain). When zstd dies, tar fails next with "Connection reset by peer": the
 * first exit is the cause, the later ones are consequences.
 */
let exitCount = 0;
const exitOrder = new WeakMap<object, number>();
/** Failures of programs that we stopped ourselves (the chain was stopped because of another failure). */
const stoppedByUs = new WeakSet<object>();

/** Whether the program's failure is our own stop (SIGTERM/SIGKILL after an abort): never the cause. */
export function wasStopped(error: unknown): boolean {
  return typeof error === 'object' && error !== null && stoppedByUs.has(error);
}

/** The position of the program's exit among all exits, for an error a program's `done` rejected with. */
export function exitOrderOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? exitOrder.get(error) : undefined;
}

/**
 * Whether a program failed because the program reading its output went away (SIGPIPE, EPIPE,
 * or a reset socket pair): a consequence, never the cause, even when both exits reach Node in
 * one batch (libuv then reports them in spawn order, the writer first).
 */
export function lostItsReader(error: unknown): boolean {
  if (!(error instanceof BackupError)) return false;
  return error.signal === 'SIGPIPE' || /Broken pipe|Connection reset by peer|EPIPE/i.test(error.stderrTail ?? '');
}

export interface ExitPolicy {
  /** Exit codes that are success with a warning (tar's 1: "file changed as we read it"). */
  warnOn?: readonly number[];
}

export interface SpawnedProgram {
  child: ChildProcess;
  /** Settles when the program exited: resolves on 0 (or a warn code), rejects otherwise. */
  done: Promise<void>;
  warnings: string[];
  stderrTail(): string;
}

export interface SpawnOptions extends ExitPolicy {
  /** The job file id of the plugin, for error messages. */
  plugin: string;
  /** Which layer a failure belongs to. */
  layer?: ErrorLayer;
  /** Label in messages ("tar", "mysqldump"); defaults to the command's base name. */
  label?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdio?: StdioOptions;
  signal?: AbortSignal;
}

function makeError(layer: ErrorLayer, message: string, options: ConstructorParameters<typeof BackupError>[2]): BackupError {
  if (layer === 'source') return new SourceError(message, options);
  if (layer === 'pipeline') return new PipelineError(message, options);
  return new BackupError(layer, message, options);
}

/** Spawns a program and watches its exit. stdout is the caller's; stderr is collected. */
export function spawnProgram(command: string, args: readonly string[], options: SpawnOptions): SpawnedProgram {
  const label = options.label ?? command.split('/').pop() ?? command;
  const layer = options.layer ?? 'source';
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
  const tail = new OutputTail().follow(child.stderr);
  const warnings: string[] = [];
  const stderrTail = () => redact(tail.toString().trim());

  // Stop on abort: SIGTERM, then SIGKILL if the program has not exited after a grace period.
  let killTimer: NodeJS.Timeout | undefined;
  let stopRequested = false;
  const onAbort = () => {
    stopRequested = true;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  };
  if (options.signal?.aborted) queueMicrotask(onAbort);
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  let exitSeq: number | undefined;
  const exited = () => {
    exitSeq ??= ++exitCount;
    clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', onAbort);
  };
  child.once('exit', exited);

  const done = new Promise<void>((resolve, reject) => {
    const fail = (error: BackupError) => {
      exitOrder.set(error, exitSeq!);
      if (stopRequested && error.signal != null) stoppedByUs.add(error);
      reject(error);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      exited();
      const message = error.code === 'ENOENT' ? notFoundMessage(command) : `${label} could not start: ${error.message}`;
      fail(makeError(layer, message, { plugin: options.plugin, cause: error }));
    });
    child.once('close', (code, signal) => {
      exited();
      if (code === 0) return resolve();
      if (code !== null && options.warnOn?.includes(code)) {
        warnings.push(`${label} exited ${code}: ${stderrTail().split('\n').slice(-3).join(' | ') || 'no message'}`);
        return resolve();
      }
      const how = signal ? `was killed by ${signal}` : `exited ${code}`;
      fail(makeError(layer, `${label} ${how}`, { plugin: options.plugin, exitCode: code, signal, stderrTail: stderrTail() }));
    });
  });
  // The rejection is handled by whoever awaits `done`; avoid an unhandled rejection before that.
  done.catch(() => undefined);
  return { child, done, warnings, stderrTail };
}

export interface Reaped {
  /** The failure of the program that exited first (its `done` rejection), if any failed. */
  first?: unknown;
  /** How many were still running at the deadline. */
  pending: number;
}

/**
 * Waits for programs' `done` promises to settle, at most `timeoutMs`, and picks the cause: the
 * failure that came first in exit order, not counting programs that only lost their reader or
 * that we stopped ourselves (a failure that is no program's exit, such as a dumper error a
 * source reports in its own words, ranks after the real exits but before those).
 * Without `timeoutMs`, waits for all of them.
 */
export async function reapPrograms(dones: readonly Promise<unknown>[], timeoutMs?: number): Promise<Reaped> {
  const failures: { error: unknown; order: number }[] = [];
  let settled = 0;
  // A failure that is not a program's exit ranks after every program exit, in settle order;
  // a program that only lost its reader ranks after all of those.
  const NOT_AN_EXIT = 1e12;
  const CONSEQUENCE = 2e12;
  const OUR_STOP = 3e12;
  const watched = dones.map((d) =>
    d.then(
      () => void settled++,
      (error: unknown) => {
        const rank = wasStopped(error) ? OUR_STOP : lostItsReader(error) ? CONSEQUENCE : 0;
        failures.push({ error, order: rank + (exitOrderOf(error) ?? NOT_AN_EXIT + settled) });
        settled++;
      },
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = timeoutMs === undefined ? [] : [new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))];
  await Promise.race([Promise.all(watched), ...deadline]);
  clearTimeout(timer);
  failures.sort((a, b) => a.order - b.order);
  return { first: failures[0]?.error, pending: dones.length - settled };
}

/** The child's stdout as a Readable; throws if it was not piped. */
export function stdoutOf(program: SpawnedProgram): Readable {
  const out = program.child.stdout;
  if (!out) throw new PipelineError('program stdout is not piped');
  return out;
}

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
export type StopSignal = keyof typeof SIGNAL_NUMBERS;

/**
 * Runs `work`; if SIGINT, SIGTERM or SIGHUP arrives meanwhile, runs `cleanup` (remove what
 * `work` half made) and exits with 128 + the signal's number, as a shell reports it. For
 * commands without a run to abort (restore into a folder), where dying at once would leave
 * half-written plaintext behind.
 */
export async function cleanUpOnSignal<T>(work: () => Promise<T>, cleanup: (signal: StopSignal) => Promise<void>): Promise<T> {
  let stopping = false;
  const handler = (signal: StopSignal) => {
    if (stopping) return;
    stopping = true;
    void cleanup(signal)
      .catch(() => undefined)
      .finally(() => process.exit(128 + SIGNAL_NUMBERS[signal]));
  };
  for (const name of Object.keys(SIGNAL_NUMBERS) as StopSignal[]) process.on(name, handler);
  try {
    return await work();
  } finally {
    for (const name of Object.keys(SIGNAL_NUMBERS) as StopSignal[]) process.off(name, handler);
  }
}
