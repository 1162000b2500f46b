/** `backup run JOB` (and the original's `backup -v JOB`). */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { JobFileError } from '../config/load.js';
import { stateDirFailure } from '../config/paths.js';
import type { Job } from '../config/job.js';
import { ExitCode, describeError, exitCodeFor } from '../errors.js';
import type { Logger } from '../log.js';
import type { LoadedNotification } from '../config/job.js';
import { acquireJobLock } from '../pipeline/lock.js';
import { NotificationDispatcher } from '../pipeline/notify.js';
import { finishReport, newRunReport, runJob } from '../pipeline/run.js';
import { appendHistory } from '../state/history.js';
import { printRunSummary } from './summary.js';
import { terminalProgress } from './progress.js';
import { abortOnSignals, checkRunAsUser, loadJob, makeLogger, type GlobalOptions } from './context.js';

export interface RunCommandOptions extends GlobalOptions {
  dryRun?: boolean;
  only?: string;
  strict?: boolean;
}

export async function commandRun(path: string, options: RunCommandOptions): Promise<number> {
  process.umask(0o077);
  const { logger, tail } = makeLogger(options);
  let job: Job;
  try {
    job = loadJob(path, logger, { strict: options.strict });
    checkRunAsUser(job);
  } catch (error) {
    logger.error(describeError(error));
    if (error instanceof JobFileError && error.notifications.length > 0) {
      await notifySetupFailure(path, error.notifications, describeError(error), logger, tail);
    }
    return exitCodeFor(error);
  }

  const only = options.only?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
  const unknown = only.filter((id) => !job.sources.some((s) => s.options.id === id));
  if (unknown.length) {
    logger.error(`--only: no source ${unknown.join(', ')} in the job (have: ${job.sources.map((s) => s.options.id).join(', ')})`);
    return ExitCode.usage;
  }

  let lock;
  try {
    lock = options.dryRun ? undefined : await acquireJobLock(job.stateDir, job.info);
  } catch (caught) {
    const error = stateDirFailure(caught, job.stateDir);
    logger.error(describeError(error));
    await notifySetupFailure(job.info.path, job.notifications, describeError(error), logger, tail, job);
    return exitCodeFor(error);
  }
  const { signal, dispose } = abortOnSignals(logger);
  try {
    const onProgress = options.logFormat === 'json' ? undefined : terminalProgress(process.stderr);
    const report = await runJob(job, { logger, signal, only, dryRun: options.dryRun, logTail: tail, onProgress });
    if (!options.dryRun) await appendHistory(job, report).catch((error: unknown) => logger.warn(`run history not recorded: ${describeError(error)}`));
    if (options.dryRun || options.verbose || options.debug || process.stdout.isTTY) printRunSummary(report, process.stdout);
    return report.status === 'failure' ? ExitCode.failed : ExitCode.ok;
  } finally {
    dispose();
    await lock?.release();
  }
}

/** A run that could not start (job file, lock) is still a failure the channels must hear about. */
async function notifySetupFailure(path: string, notifications: LoadedNotification[], error: string, logger: Logger, tail: () => string[], job?: Job): Promise<void> {
  const info = job?.info ?? { path: resolve(path), name: path.replace(/^.*\//, '').replace(/\.[^.]*$/, ''), hostname: hostname() };
  const report = newRunReport({ info }, new Date(), false);
  report.error = error;
  finishReport(report, tail);
  const dispatcher = await NotificationDispatcher.create(notifications, { job: info, logger });
  await dispatcher.emit({ kind: 'failure', source: undefined, run: report });
  await dispatcher.emit({ kind: 'run', run: report });
}
