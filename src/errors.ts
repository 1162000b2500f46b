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

/** Text of any thrown value, preferring the BackupError one-liner. */
export function describeError(error: unknown): string {
  if (error instanceof BackupError) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
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
