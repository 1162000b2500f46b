/**
 * One error type per layer. Each keeps the plugin id that failed, the cause, and (for
 * spawned programs) the exit code and the tail of stderr, so the operator reads what
 * happened without a stack trace.
 */

export type ErrorLayer = 'config' | 'source' | 'destination' | 'notification' | 'pipeline' | 'lock' | 'usage';

export interface BackupErrorOptions {
  /** The job file's id of the source, destination or notification involved. */
  plugin?: string;
  cause?: unknown;
  exitCode?: number | null;
  signal?: string | null;
  stderrTail?: string;
}

export class BackupError extends Error {
  readonly layer: ErrorLayer;
  readonly plugin?: string;
  readonly exitCode?: number | null;
  readonly signal?: string | null;
  readonly stderrTail?: string;

  constructor(layer: ErrorLayer, message: string, options: BackupErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.layer = layer;
    this.plugin = options.plugin;
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.stderrTail = options.stderrTail;
  }

  /** One line for logs and notifications: "source db: mysqldump exited 2: <stderr tail>". */
  describe(): string {
    const where = this.plugin ? `${this.layer} ${this.plugin}: ` : '';
    const tail = this.stderrTail ? `: ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}` : '';
    return `${where}${this.message}${tail}`;
  }
}

/** One problem in the job file, located by its JSON path (`sources[2].dbhost`). */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends BackupError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[], options: BackupErrorOptions = {}) {
    super('config', problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('\n'), options);
    this.problems = problems;
  }
  override describe(): string {
    return this.message;
  }
}

export class SourceError extends BackupError {
  constructor(message: string, options: BackupErrorOptions = {}) {
    super('source', message, options);
  }
}

export class DestinationError extends BackupError {
  constructor(message: string, options: BackupErrorOptions = {}) {
    super('destination', message, options);
  }
}

export class NotificationError extends BackupError {
  constructor(message: string, options: BackupErrorOptions = {}) {
    super('notification', message, options);
  }
}

export class PipelineError extends BackupError {
  constructor(message: string, options: BackupErrorOptions = {}) {
    super('pipeline', message, options);
  }
}

export class LockHeldError extends BackupError {
  constructor(message: string, options: BackupErrorOptions = {}) {
    super('lock', message, options);
  }
}

export class UsageError extends BackupError {
  constructor(message: string, options: BackupErrorOptions = {}) {
    super('usage', message, options);
  }
}

/**
 * Where a message will be read: the caller already names this source or destination
 * ("→ usb (local): failure: ...", "destination usb failed: ..."), so the error's own
 * "destination usb: " prefix would say it twice.
 */
export interface ErrorContext {
  layer: 'source' | 'destination';
  plugin: string;
}

function namesContext(error: BackupError, context: ErrorContext | undefined): boolean {
  if (!context || error.plugin !== context.plugin) return false;
  // Compression, encryption and read-back errors carry the id of the source or destination
  // they worked for under the 'pipeline' layer.
  return error.layer === context.layer || error.layer === 'pipeline';
}

/**
 * Text of any thrown value, preferring the BackupError one-liner; system errors (errno) in
 * words. With `context`, the prefix naming that source or destination is left out.
 */
export function describeError(error: unknown, context?: ErrorContext): string {
  if (error instanceof BackupError) {
    const text = error.describe();
    const prefix = `${error.layer} ${error.plugin}: `;
    return namesContext(error, context) && text.startsWith(prefix) ? text.slice(prefix.length) : text;
  }
  if (isSystemError(error)) return describeSystemError(error);
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Words an operator reads for the errno codes a backup meets on disks and shares. */
const ERRNO_WORDS: Record<string, string> = {
  EROFS: 'not writable: read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'does not exist',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder',
  EEXIST: 'already exists',
  ENOTEMPTY: 'folder is not empty',
  EIO: 'input/output error (failing disk or lost mount?)',
  ESTALE: 'stale file handle (NFS share remounted or gone?)',
  EMFILE: 'too many open files',
  EFBIG: 'file too large for the file system',
};

/** System calls that change the file system: EACCES there means the place is not writable. */
const WRITING_CALLS = new Set(['mkdir', 'write', 'rename', 'unlink', 'rmdir', 'link', 'symlink', 'copyfile', 'utime', 'chmod', 'fsync']);

export function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * `error` with `path` recorded when it is an errno error that names no file: a write() that
 * fails (ENOSPC, EIO) reports no path, and "no space left on the device" alone does not say
 * which device. Returns the same error, for `throw withPath(error, file)`.
 */
export function withPath(error: unknown, path: string): unknown {
  if (isSystemError(error) && !error.path) error.path = path;
  return error;
}

/**
 * An errno error in words, keeping the code for searching: `/mnt/usb/db: not writable
 * read-only file system (EROFS)` instead of `EROFS: read-only file system, mkdir '/mnt/usb/db'`.
 * `writing` says the operation wrote (an EACCES from open() is then "not writable").
 */
export function describeSystemError(error: NodeJS.ErrnoException, options: { writing?: boolean } = {}): string {
  const code = error.code ?? '';
  let words = ERRNO_WORDS[code];
  if (!words) return error.message;
  const writing = options.writing || WRITING_CALLS.has(error.syscall ?? '');
  if ((code === 'EACCES' || code === 'EPERM') && writing) words = `not writable: ${words}`;
  if (code === 'ENOENT' && error.syscall === 'mkdir') words = 'cannot create it: its parent folder does not exist';
  return `${error.path ? `${error.path}: ` : ''}${words} (${code})`;
}

/** Process exit codes, as the README documents them. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  locked: 3,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof ConfigError || error instanceof UsageError) return ExitCode.usage;
  if (error instanceof LockHeldError) return ExitCode.locked;
  return ExitCode.failed;
}

/** `get` of a key that does not exist on the destination. */
export class ObjectNotFoundError extends DestinationError {
  readonly key: string;
  constructor(key: string, options: BackupErrorOptions = {}) {
    super(`no object at ${key}`, options);
    this.key = key;
  }
}
