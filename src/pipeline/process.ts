/**
 * Spawning the external programs the pipeline streams through (tar, zstd, dumpers). One place
 * decides what an exit status means, keeps the stderr tail for the error, redacts it, and
 * turns "command not found" into an install hint.
 *
 * node:child_process is used directly rather than execa for these: the pipeline hands one
 * child's stdout pipe straight to the next child's stdin (an OS pipe Node never reads from),
 * which needs the raw ChildProcess handles. Short one-shot commands use execa.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { BackupError, SourceError, PipelineError, type ErrorLayer } from '../errors.js';
import { redact } from '../secrets.js';

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

const STDERR_TAIL_BYTES = 4096;

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
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-STDERR_TAIL_BYTES);
  });
  const warnings: string[] = [];
  const stderrTail = () => redact(tail.trim());

  const onAbort = () => child.kill('SIGTERM');
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', onAbort);
      const message = error.code === 'ENOENT' ? notFoundMessage(command) : `${label} could not start: ${error.message}`;
      reject(makeError(layer, message, { plugin: options.plugin, cause: error }));
    });
    child.once('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (code === 0) return resolve();
      if (code !== null && options.warnOn?.includes(code)) {
        warnings.push(`${label} exited ${code}: ${stderrTail().split('\n').slice(-3).join(' | ') || 'no message'}`);
        return resolve();
      }
      const how = signal ? `was killed by ${signal}` : `exited ${code}`;
      reject(makeError(layer, `${label} ${how}`, { plugin: options.plugin, exitCode: code, signal, stderrTail: stderrTail() }));
    });
  });
  // The rejection is handled by whoever awaits `done`; avoid an unhandled rejection before that.
  done.catch(() => undefined);
  return { child, done, warnings, stderrTail };
}

/** The child's stdout as a Readable; throws if it was not piped. */
export function stdoutOf(program: SpawnedProgram): Readable {
  const out = program.child.stdout;
  if (!out) throw new PipelineError('program stdout is not piped');
  return out;
}
