/**
 * `backup vzdump-hook JOB PHASE [MODE VMID]`: called by vzdump (through a wrapper script) for
 * every phase of a backup job. See src/vzdump/hook.ts for what each phase does and returns.
 */
import { userInfo } from 'node:os';
import { createLogger } from '../log.js';
import { VzdumpHook, vzdumpEnv } from '../vzdump/hook.js';
import { abortOnSignals, loadJob } from './context.js';

/** vzdump gives the hook no PATH; the programs the pipeline runs (zstd, gpg) live here. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export async function commandVzdumpHook(jobPath: string, phase: string, mode: string | undefined, vmid: string | undefined, options: { debug?: boolean }): Promise<number> {
  process.umask(0o077);
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

/** Adds `vzdump-hook` to the program; `setCode` receives the exit status vzdump reads. */
