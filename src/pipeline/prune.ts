/**
 * `backup prune`: retention applied now, outside a run, with the plan of every run (why it stays,
 * why it goes). The same planner and the same deletion as the retention at the end of a run
 * (retention.ts); the CLI takes the job lock around it and prints the result.
 */
import type { Job } from '../config/job.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { compareSlotsNewestFirst } from './keys.js';
import { findSource, jobOwner, openDestinations } from './restore.js';
import { applyRetention, describePolicy, hasPolicy, retentionPolicy, retentionTimeZone, type RetentionPlan } from './retention.js';
import type { RunState } from './runs.js';

export interface PruneRunRow {
  run: string;
  /** ISO time of the run's start (UTC). */
  time: string;
  state: RunState;
  action: 'keep' | 'remove';
  reason: string;
}

export interface PruneSection {
  destination: string;
  source: string;
  /** The policy in the job file's words, or "no retention policy". */
  policy: string;
  runs: PruneRunRow[];
  /** Runs removed (or, with --dry-run, that would be). */
  removed: string[];
  error?: string;
}

export interface PruneResult {
  dryRun: boolean;
  timeZone: string;
  sections: PruneSection[];
}

export interface PruneOptions {
  source?: string;
  destination?: string;
  dryRun?: boolean;
  now?: Date;
}

export async function pruneJob(job: Job, options: PruneOptions, logger: Logger): Promise<PruneResult> {
  const sources = options.source ? [findSource(job, options.source)] : job.sources;
  const result: PruneResult = { dryRun: options.dryRun ?? false, timeZone: retentionTimeZone(), sections: [] };
  const now = options.now ?? new Date();
  for (const d of await openDestinations(job, logger, options.destination)) {
    const id = d.loaded.options.id;
    const policy = retentionPolicy(d.loaded.options);
    try {
      for (const s of sources) {
        const section: PruneSection = { destination: id, source: s.options.id, policy: describePolicy(policy), runs: [], removed: [] };
        result.sections.push(section);
        if (!hasPolicy(policy)) continue;
        let plan: RetentionPlan | undefined;
        const report = await applyRetention(d.destination, d.layout, s.options.id, policy, {
          owner: jobOwner(job),
          now,
          dryRun: options.dryRun,
          onPlan: (p) => (plan = p),
          onRemove: (run, reason) => logger.info({ destination: id }, `${options.dryRun ? 'would remove' : 'removing'} run ${run.runKey} of ${s.options.id} on ${id}: ${reason}`),
        });
        if (plan) {
          const rows = [...plan.keep.map((x) => ({ ...x, action: 'keep' as const })), ...plan.remove.map((x) => ({ ...x, action: 'remove' as const }))];
          rows.sort((a, b) => compareSlotsNewestFirst(a.run, b.run));
          section.runs = rows.map(({ run, reason, action }) => ({ run: run.runKey, time: run.time.toISOString(), state: run.state, action, reason }));
        }
        section.removed = report.deleted;
        if (report.error) section.error = report.error;
      }
    } catch (error) {
      result.sections.push({ destination: id, source: options.source ?? '*', policy: describePolicy(policy), runs: [], removed: [], error: describeError(error) });
    } finally {
      await d.destination.close?.().catch(() => undefined);
    }
  }
  return result;
}
