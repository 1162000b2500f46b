/** `backup prune JOB [--dry-run] [--source ID] [--destination ID]`: retention now, run by run. */
import { stateDirFailure } from '../config/paths.js';
import { ExitCode } from '../errors.js';
import { acquireJobLock } from '../pipeline/lock.js';
import { pruneJob, type PruneResult } from '../pipeline/prune.js';
import { redact } from '../secrets.js';
import { withJob, type GlobalOptions } from './context.js';

export interface PruneCommandOptions extends GlobalOptions {
  dryRun?: boolean;
  source?: string;
  destination?: string;
}

export function commandPrune(path: string, options: PruneCommandOptions): Promise<number> {
  return withJob(path, options, async (job, logger) => {
    // Like a run: no run of this job stores or prunes at the same time. A dry run changes nothing.
    let lock;
    try {
      lock = options.dryRun ? undefined : await acquireJobLock(job.stateDir, job.info);
    } catch (error) {
      throw stateDirFailure(error, job.stateDir);
    }
    try {
      const result = await pruneJob(job, options, logger);
      process.stdout.write(redact(formatPrune(result)));
      return result.sections.some((s) => s.error) ? ExitCode.failed : ExitCode.ok;
    } finally {
      await lock?.release();
    }
  });
}

/**
 * One block per destination and source: the policy, then one line per run, newest first:
 * `keep    20261129020000  complete  daily 2026-11-29; weekly 2026-W48`.
 */
function formatPrune(result: PruneResult): string {
  const lines: string[] = [];
  const verb = result.dryRun ? 'would remove' : 'removed';
  for (const s of result.sections) {
    lines.push(`${s.destination} / ${s.source}: ${s.policy}${s.runs.length ? ` (periods in ${result.timeZone})` : ''}`);
    if (s.policy === 'no retention policy') lines.push('  nothing to do');
    else if (s.runs.length === 0 && !s.error) lines.push('  no runs stored');
    const stateWidth = Math.max(0, ...s.runs.map((r) => r.state.length));
    const action = (a: 'keep' | 'remove') => (a === 'keep' ? 'keep' : result.dryRun ? 'would remove' : 'remove');
    const actionWidth = Math.max(0, ...s.runs.map((r) => action(r.action).length));
    for (const r of s.runs) lines.push(`  ${action(r.action).padEnd(actionWidth)}  ${r.run}  ${r.state.padEnd(stateWidth)}  ${r.reason}`);
    if (s.error) lines.push(`  FAILED: ${s.error}`);
    else if (s.policy !== 'no retention policy') lines.push(`  ${verb} ${s.removed.length} run(s), kept ${s.runs.filter((r) => r.action === 'keep').length}`);
  }
  if (result.dryRun) lines.push('dry run: nothing was removed');
  return `${lines.join('\n')}\n`;
}
