/** What every command shares: logger from -v/-d/--log-format, job loading, the run-as-user check. */
import { userInfo } from 'node:os';
import type { Job } from '../config/job.js';
import { loadJobFile } from '../config/load.js';
import { UsageError, describeError, exitCodeFor } from '../errors.js';
import { redact } from '../secrets.js';
import { createLogger, type Logger, type LogFormat } from '../log.js';
import { MAX_LOG_TAIL_LINES } from '../report.js';

export interface GlobalOptions {
  verbose?: boolean;
  debug?: boolean;
  logFormat?: LogFormat;
}

export interface CommandLogger {
  logger: Logger;
  tail: () => string[];
}

/** As many as the most demanding channel may send (duplistatus' log_lines). */
const TAIL_LINES = MAX_LOG_TAIL_LINES;

export function makeLogger(options: GlobalOptions): CommandLogger {
  const lines: string[] = [];
  const logger = createLogger({
    level: options.debug ? 'debug' : options.verbose ? 'info' : 'warn',
    format: options.logFormat ?? 'text',
    onLine: (line) => {
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
    },
  });
  return { logger, tail: () => [...lines] };
}

/** The original expected to run as a dedicated user; opt-in here (run_as_user or RUN_AS_USER). */
export function checkRunAsUser(job: Job, env: NodeJS.ProcessEnv = process.env): void {
  const wanted = job.root.run_as_user ?? env.RUN_AS_USER;
  if (!wanted) return;
  const current = userInfo().username;
  if (current !== wanted) {
    throw new UsageError(
      `this job runs as user "${wanted}" (${job.root.run_as_user ? 'run_as_user in the job file' : 'RUN_AS_USER'}), not "${current}": run it with sudo -H -u ${wanted} backup ${job.info.path}`,
    );
  }
}

export function loadJob(path: string, logger: Logger, options: { strict?: boolean } = {}): Job {
  const job = loadJobFile(path, { strict: options.strict });
  for (const warning of job.warnings) logger.warn(warning);
  return job;
}

/** SIGINT/SIGTERM abort the run (uploads abort, temp files go, failure is reported); a second one exits at once. */
export function abortOnSignals(logger: Logger): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.exit(130);
    }
    logger.error(`received ${name}: aborting the run`);
    controller.abort(new Error(`received ${name}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('SIGHUP', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      process.off('SIGHUP', handler);
    },
  };
}

/**
 * Runs a command that works on a loaded job (list, restore, verify, status, history): builds
 * the logger, loads the job, prints a failure as one redacted line and maps it to an exit code.
 */
export async function withJob(path: string, options: GlobalOptions, body: (job: Job, logger: Logger) => Promise<number>): Promise<number> {
  process.umask(0o077);
  const { logger } = makeLogger(options);
  try {
    return await body(loadJob(path, logger), logger);
  } catch (error) {
    process.stderr.write(`backup: ${redact(describeError(error))}\n`);
    return exitCodeFor(error);
  }
}
