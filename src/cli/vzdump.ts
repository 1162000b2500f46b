/**
 * `backup vzdump-hook JOB PHASE [MODE VMID]`: called by vzdump (through a wrapper script) for
 * every phase of a backup job. See src/vzdump/hook.ts for what each phase does and returns.
 */
import { userInfo } from 'node:os';
import { ConfigError, ExitCode, describeError, exitCodeFor } from '../errors.js';
import { createLogger } from '../log.js';
import { redact } from '../secrets.js';
import { checkVzdumpJob } from '../vzdump/check.js';
import { VzdumpHook, vzdumpEnv } from '../vzdump/hook.js';
import { abortOnSignals, loadJob } from './context.js';

/** vzdump gives the hook no PATH; the programs the pipeline runs (zstd, gpg) live here. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export async function commandVzdumpHook(jobPath: string, phase: string | undefined, mode: string | undefined, vmid: string | undefined, options: { debug?: boolean; check?: boolean }): Promise<number> {
  process.umask(0o077);
  if (options.check) return checkCommand(jobPath, options);
  if (!phase) {
    process.stderr.write('backup vzdump-hook: give the vzdump PHASE (vzdump does), or --check to test the job\n');
    return ExitCode.usage;
  }
  const env = vzdumpEnv(process.env);
  process.env.PATH ||= DEFAULT_PATH;
  if (!process.env.HOME) {
    try {
      process.env.HOME = userInfo().homedir;
    } catch {
      // no passwd entry: gpg key-id lookups will say so
    }
  }
  const lines: string[] = [];
  // vzdump copies the hook's output into the task log: info lines are what the operator reads there.
  const logger = createLogger({ level: options.debug ? 'debug' : 'info', format: 'text', onLine: (line) => lines.push(line) });
  const { signal, dispose } = abortOnSignals(logger);
  try {
    const hook = new VzdumpHook(
      { phase, mode, vmid, env },
      { loadJob: () => loadJob(jobPath, logger), logger, signal, logTail: () => [...lines] },
    );
    return await hook.run();
  } finally {
    dispose();
  }
}

/**
 * `--check`: the same environment as under vzdump (default PATH, HOME), then the job's checks.
 * Exit 2: the job does not load or has no vzdump source; 1: something the hook needs fails.
 */
async function checkCommand(jobPath: string, options: { debug?: boolean }): Promise<number> {
  process.env.PATH ||= DEFAULT_PATH;
  const logger = createLogger({ level: options.debug ? 'debug' : 'info', format: 'text' });
  try {
    const job = loadJob(jobPath, logger);
    return await checkVzdumpJob(job, logger, (line) => process.stdout.write(`${line}\n`));
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const p of error.problems) process.stderr.write(`${redact(p.path ? `${jobPath}: ${p.path}: ${p.message}` : p.message)}\n`);
    } else process.stderr.write(`${jobPath}: ${redact(describeError(error))}\n`);
    return exitCodeFor(error);
  }
}
