/**
 * Retention, written once over the destination contract (`list`, `get`, `delete`): no
 * destination prunes on its own.
 *
 * Rules (the original's, made safe):
 * - counted in whole runs (complete or legacy) of this job and host, not objects; only keys that
 *   parse as runs of this source in this layout;
 * - `retention_copies` N keeps the N newest whole runs (and anything newer than the Nth);
 * - `retention_days` D removes runs older than D days; with both, a run goes when either says so;
 * - incomplete runs never count as copies; they go by the same rules once they are older than
 *   the copies kept;
 * - never removed: the run just stored, the newest whole run, a run still in progress, a run of
 *   another job or host (`other`).
 */
import type { Destination } from '../destinations/types.js';
import type { RetentionReport } from '../report.js';
import { describeError } from '../errors.js';
import type { KeyLayout } from './keys.js';
import { isWhole, listRuns, type RunOwner, type StoredRun } from './runs.js';

export { isWhole, listRuns, type RunState, type StoredRun } from './runs.js';

export interface RetentionPolicy {
  copies?: number;
  days?: number;
}

export interface RetentionPlan {
  keep: { run: StoredRun; reason: string }[];
  remove: { run: StoredRun; reason: string }[];
}

const DAY_MS = 86_400_000;

export function hasPolicy(policy: RetentionPolicy): boolean {
  return policy.copies !== undefined || policy.days !== undefined;
}

/**
 * Which runs stay and which go, each with its reason. `runs` may hold any runs of the source;
 * only this job's runs that are not in progress are candidates.
 */
export function planRetention(runs: readonly StoredRun[], policy: RetentionPolicy, now: Date, protectRunKeys: readonly string[] = []): RetentionPlan {
  const sorted = [...runs].sort((a, b) => b.time.getTime() - a.time.getTime() || b.seq - a.seq);
  const newestWhole = sorted.find((r) => isWhole(r));
  const plan: RetentionPlan = { keep: [], remove: [] };
  let wholeSeen = 0;
  for (const run of sorted) {
    if (run.state === 'other') {
      plan.keep.push({ run, reason: `a run of another job or host, never touched` });
      continue;
    }
    if (run.state === 'running') {
      plan.keep.push({ run, reason: 'in progress' });
      continue;
    }
    const whole = isWhole(run);
    const reasons: string[] = [];
    if (policy.copies !== undefined && wholeSeen >= policy.copies) reasons.push(`beyond the ${policy.copies} newest copies`);
    if (policy.days !== undefined && now.getTime() - run.time.getTime() > policy.days * DAY_MS) reasons.push(`older than ${policy.days} days`);
    if (whole) wholeSeen++;
    if (run === newestWhole && reasons.length) plan.keep.push({ run, reason: `the newest whole run is always kept (${reasons.join(' and ')})` });
    else if (protectRunKeys.includes(run.runKey)) plan.keep.push({ run, reason: 'the run just stored' });
    else if (reasons.length) plan.remove.push({ run, reason: reasons.join(' and ') });
    else plan.keep.push({ run, reason: whole ? `copy ${wholeSeen}` : `${run.state}, does not count as a copy` });
  }
  return plan;
}

export interface ApplyRetentionOptions {
  /** Whose runs may be removed: this job on this host. */
  owner: RunOwner;
  now?: Date;
  protectRunKeys?: readonly string[];
  dryRun?: boolean;
  /** For a dry run: the run about to be stored, counted as the newest whole copy. */
  upcoming?: Pick<StoredRun, 'runKey' | 'time' | 'seq'>;
  onRemove?: (run: StoredRun, reason: string) => void;
  /** Runs already listed (saves listing the destination again). */
  runs?: StoredRun[];
}

export async function applyRetention(
  destination: Destination,
  layout: KeyLayout,
  sourceId: string,
  policy: RetentionPolicy,
  options: ApplyRetentionOptions,
): Promise<RetentionReport> {
  const report: RetentionReport = { kept: [], deleted: [], dryRun: options.dryRun ?? false, reasons: {} };
  if (!hasPolicy(policy)) return report;
  try {
    const runs = options.runs ?? (await listRuns(destination, layout, sourceId, options.owner));
    const candidates: StoredRun[] = options.upcoming ? [{ ...options.upcoming, objects: [], claimKeys: [], state: 'complete' }, ...runs] : runs;
    const plan = planRetention(candidates, policy, options.now ?? new Date(), [...(options.protectRunKeys ?? []), ...(options.upcoming ? [options.upcoming.runKey] : [])]);
    for (const { run, reason } of plan.keep) {
      if (run.state === 'other') continue;
      report.kept.push(run.runKey);
      report.reasons![run.runKey] = reason;
    }
    for (const { run, reason } of plan.remove) {
      options.onRemove?.(run, reason);
      if (!options.dryRun) {
        // Manifest first: an interrupted delete leaves an incomplete run, never a "complete" one with holes.
        if (run.manifestKey) await destination.delete([run.manifestKey]);
        await destination.delete(run.objects.map((o) => o.key).filter((k) => k !== run.manifestKey));
      }
      report.deleted.push(run.runKey);
      report.reasons![run.runKey] = reason;
    }
  } catch (error) {
    report.error = describeError(error);
  }
  return report;
}
