/**
 * Command hooks: `before`, `after` and `on_error` commands, per job and per source.
 *
 * - An argv array runs without a shell; a string runs with `/bin/sh -c` (unless `shell: false`,
 *   which splits it into words the way a shell would, without expanding anything).
 * - The run's state reaches the command through BACKUP_* environment variables.
 * - Each command has a timeout (hook_timeout, default 5 minutes); the command's whole process
 *   group is killed when it expires or when the run is interrupted.
 * - A failing `before` fails what it guards (the source, or the whole run for a job-level
 *   hook) with the command's output in the report. `after` and `on_error` never change the
 *   result: their failures are warnings.
 */
import { spawn } from 'node:child_process';
import { DEFAULT_HOOK_TIMEOUT_SECONDS, type HookCommand, type HookSettings } from '../config/hooks.js';
import { PipelineError, SourceError } from '../errors.js';
import type { Logger } from '../log.js';
import type { JobInfo } from '../plugin.js';
import { OutputTail } from '../lib/output-tail.js';
import type { RunReport, RunStatus } from '../report.js';
import { redact } from '../secrets.js';
import { ShellWordsError, splitShellWords } from '../lib/shell-words.js';

/** After SIGTERM, the group gets this long before SIGKILL. */
const KILL_GRACE_MS = 5000;
/** How much of the command's output is kept for the report and logs. */
const REPORTED_OUTPUT_CHARS = 2000;
const SHELL = '/bin/sh';

export interface HookScope {
  job: JobInfo;
  /** Unset for job-level hooks. */
  source?: { id: string; type: string };
  runId: string;
  /** The run's folder on the destinations (YYYYmmddHHMMSS). */
  runKey?: string;
  logger: Logger;
  signal: AbortSignal;
}

export interface HookOutcome {
  status: RunStatus;
  error?: string;
  storedBytes?: number;
  durationSeconds?: number;
}

/**
 * The job-level outcome for `after`/`on_error`: the run's own error, or else what each failed
 * source said (a failed source leaves `report.error` unset, as it is not the whole run's).
 */
export function runOutcome(report: RunReport): HookOutcome {
  const failed = report.sources.filter((s) => s.status === 'failure').map((s) => `${s.id}: ${s.error ?? 'failed'}`);
  const error = report.error ?? (failed.length ? failed.join('; ') : undefined);
  return { status: report.status, error, durationSeconds: report.durationSeconds };
}

type Phase = 'before' | 'after' | 'on_error';

interface Prepared {
  file: string;
  args: string[];
  /** How the command is named in messages. */
  label: string;
  timeoutMs: number;
}

function prepare(command: HookCommand, defaultTimeoutSeconds: number): Prepared {
  const spec = typeof command === 'object' && !Array.isArray(command) ? command : { command, shell: undefined, timeout: undefined };
  const timeoutMs = (spec.timeout ?? defaultTimeoutSeconds) * 1000;
  if (Array.isArray(spec.command)) {
    const [file, ...args] = spec.command as [string, ...string[]];
    return { file, args, label: spec.command.join(' '), timeoutMs };
  }
  if (spec.shell === false) {
    let words: string[];
    try {
      words = splitShellWords(spec.command);
    } catch (error) {
      throw new ShellWordsError(`cannot split "${spec.command}": ${(error as Error).message}`);
    }
    if (words.length === 0) throw new ShellWordsError('the command is empty');
    const [file, ...args] = words as [string, ...string[]];
    return { file, args, label: spec.command, timeoutMs };
  }
  return { file: SHELL, args: ['-c', spec.command], label: spec.command, timeoutMs };
}

/** BACKUP_* variables describing the job, the source and (after) the outcome. */
export function hookEnvironment(phase: Phase, scope: HookScope, outcome?: HookOutcome): Record<string, string> {
  const env: Record<string, string> = {
    BACKUP_PHASE: phase,
    BACKUP_JOB: scope.job.name,
    BACKUP_JOB_FILE: scope.job.path,
    BACKUP_HOSTNAME: scope.job.hostname,
    BACKUP_RUN_ID: scope.runId,
    BACKUP_SOURCE: scope.source?.id ?? '',
    BACKUP_SOURCE_TYPE: scope.source?.type ?? '',
    BACKUP_STATUS: outcome?.status ?? 'running',
    BACKUP_ERROR: outcome?.error ? redact(outcome.error) : '',
  };
  if (scope.runKey) env.BACKUP_RUN_KEY = scope.runKey;
  if (outcome?.storedBytes !== undefined) env.BACKUP_STORED_BYTES = String(outcome.storedBytes);
  if (outcome?.durationSeconds !== undefined) env.BACKUP_DURATION_SECONDS = outcome.durationSeconds.toFixed(3);
  return env;
}

interface HookResult {
  ok: boolean;
  /** "exited 1", "timed out after 300 s", "could not start: ENOENT"... */
  how: string;
  output: string;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Runs one command in its own process group; never rejects. */
function execute(prepared: Prepared, env: Record<string, string>, signal: AbortSignal): Promise<HookResult> {
  return new Promise((resolve) => {
    const child = spawn(prepared.file, prepared.args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // Twice what is reported: trimming and redacting may shorten it.
    const output = new OutputTail(REPORTED_OUTPUT_CHARS * 2).follow(child.stdout).follow(child.stderr);
    let timedOut = false;
    let interrupted = false;
    let forceKill: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup(child.pid, 'SIGTERM');
      forceKill ??= setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, prepared.timeoutMs);
    const onAbort = () => {
      interrupted = true;
      stop();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const finish = (result: Omit<HookResult, 'output'>) => {
      clearTimeout(timer);
      if (forceKill) clearTimeout(forceKill);
      signal.removeEventListener('abort', onAbort);
      resolve({ ...result, output: redact(output.toString().trim()).slice(-REPORTED_OUTPUT_CHARS) });
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      finish({ ok: false, how: error.code === 'ENOENT' ? `could not start: ${prepared.file} not found` : `could not start: ${error.message}` });
    });
    child.once('close', (code, sig) => {
      if (timedOut) return finish({ ok: false, how: `timed out after ${prepared.timeoutMs / 1000} s` });
      if (interrupted) return finish({ ok: false, how: 'interrupted' });
      if (code === 0) return finish({ ok: true, how: 'exited 0' });
      finish({ ok: false, how: sig ? `was killed by ${sig}` : `exited ${code}` });
    });
  });
}

function where(scope: HookScope): string {
  return scope.source ? `source ${scope.source.id}` : `job ${scope.job.name}`;
}

async function runPhase(phase: Phase, command: HookCommand, settings: HookSettings, scope: HookScope, outcome?: HookOutcome): Promise<HookResult & { label: string }> {
  let prepared: Prepared;
  try {
    prepared = prepare(command, settings.hook_timeout ?? DEFAULT_HOOK_TIMEOUT_SECONDS);
  } catch (error) {
    return { ok: false, how: (error as Error).message, output: '', label: String(command) };
  }
  const label = redact(prepared.label);
  scope.logger.info(`${where(scope)}: running ${phase} command: ${label}`);
  const result = await execute(prepared, hookEnvironment(phase, scope, outcome), scope.signal);
  if (result.output) scope.logger.debug(`${phase} command output:\n${result.output}`);
  return { ...result, label };
}

function describeFailure(phase: Phase, result: HookResult & { label: string }): string {
  const tail = result.output ? `: ${result.output.split('\n').slice(-10).join(' | ')}` : '';
  return `${phase} command "${result.label}" ${result.how}${tail}`;
}

/**
 * Runs the `before` command, if any. Throws (SourceError for a source, PipelineError for the
 * job) with the command's output when it fails: the caller then skips what it guards.
 */
export async function runBeforeHooks(settings: HookSettings, scope: HookScope): Promise<void> {
  if (!settings.before) return;
  const result = await runPhase('before', settings.before, settings, scope);
  if (result.ok) return;
  const message = describeFailure('before', result);
  throw scope.source ? new SourceError(message, { plugin: scope.source.id }) : new PipelineError(message);
}

/**
 * Runs `on_error` (when the outcome is a failure) and then `after`. Never throws: each
 * failure comes back as a warning text (already logged).
 */
export async function runAfterHooks(settings: HookSettings, scope: HookScope, outcome: HookOutcome): Promise<string[]> {
  const warnings: string[] = [];
  // The run may have been interrupted; the cleanup commands still get their own time.
  const own: HookScope = { ...scope, signal: new AbortController().signal };
  const phases: [Phase, HookCommand | undefined][] = [
    ['on_error', outcome.status === 'failure' ? settings.on_error : undefined],
    ['after', settings.after],
  ];
  for (const [phase, command] of phases) {
    if (!command) continue;
    const result = await runPhase(phase, command, settings, own, outcome);
    if (result.ok) continue;
    const warning = `${where(scope)}: ${describeFailure(phase, result)}`;
    scope.logger.warn(warning);
    warnings.push(warning);
  }
  return warnings;
}
