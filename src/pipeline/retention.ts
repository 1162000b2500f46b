/**
 * Retention, written once over the destination contract (`list`, `get`, `delete`): no
 * destination prunes on its own.
 *
 * Rules (the original's, made safe, and grandfather-father-son as `borg prune` / `restic forget`):
 * - counted in whole runs (complete or legacy) of this job and host, not objects; only keys that
 *   parse as runs of this source in this layout;
 * - `retention_copies` N keeps the N newest whole runs (and anything newer than the Nth);
 * - `retention_days` D removes runs older than D days; with both, a run goes when either says so
 *   (the original's rule: the two together are one keep rule);
 * - `keep_hourly`/`keep_daily`/`keep_weekly`/`keep_monthly`/`keep_yearly` N keep the last (newest)
 *   whole run of each of the N newest hours/days/ISO weeks/months/years that have a whole run,
 *   counted back from the newest whole run (periods without a run do not count), in the host's
 *   local time zone (`TZ` honoured). Each rule counts on its own (restic's way: the newest run of a
 *   Sunday is a daily and a weekly at once). When a rule finds fewer periods than N, the oldest
 *   whole run is kept as well (borg >= 1.2, restic >= 0.17);
 * - a run is kept when ANY keep rule keeps it;
 * - incomplete runs never count as copies and never fill a period; they go by the copies/days rule
 *   once they are older than the copies kept; under keep_* rules they stay only while no whole run
 *   is newer;
 * - never removed: the run just stored, the newest whole run, a run still in progress, a run of
 *   another job or host (`other`).
 */
import type { Destination } from '../destinations/types.js';
import type { RetentionReport } from '../report.js';
import { describeError } from '../errors.js';
import { compareSlotsNewestFirst, type KeyLayout } from './keys.js';
import { isWhole, listRuns, type RunOwner, type StoredRun } from './runs.js';

export { isWhole, listRuns, type RunState, type StoredRun } from './runs.js';

export type Period = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
/** Finest first: the order reasons are given in. */
export const PERIODS: readonly Period[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];

export interface RetentionPolicy {
  copies?: number;
  days?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
}

export interface RetentionPlan {
  keep: { run: StoredRun; reason: string }[];
  remove: { run: StoredRun; reason: string }[];
}

const DAY_MS = 86_400_000;

const NOUN: Record<Period, [string, string]> = {
  hourly: ['hour', 'hours'],
  daily: ['day', 'days'],
  weekly: ['week', 'weeks'],
  monthly: ['month', 'months'],
  yearly: ['year', 'years'],
};

export function hasPolicy(policy: RetentionPolicy): boolean {
  return policy.copies !== undefined || policy.days !== undefined || PERIODS.some((p) => policy[p] !== undefined);
}

/** The policy in the job file's words: `retention_copies 3, keep_daily 7`. */
export function describePolicy(policy: RetentionPolicy): string {
  const parts: string[] = [];
  if (policy.copies !== undefined) parts.push(`retention_copies ${policy.copies}`);
  if (policy.days !== undefined) parts.push(`retention_days ${policy.days}`);
  for (const p of PERIODS) if (policy[p] !== undefined) parts.push(`keep_${p} ${policy[p]}`);
  return parts.length ? parts.join(', ') : 'no retention policy';
}

/** The time zone periods are counted in: the host's (`TZ` honoured). */
export function retentionTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The period a time falls in, in local time: `2026-11-28 14:00`, `2026-11-28`, `2026-W48`, `2026-11`, `2026`. */
export function periodLabel(period: Period, time: Date): string {
  const y = time.getFullYear();
  const m = time.getMonth() + 1;
  const d = time.getDate();
  switch (period) {
    case 'hourly':
      return `${y}-${pad(m)}-${pad(d)} ${pad(time.getHours())}:00`;
    case 'daily':
      return `${y}-${pad(m)}-${pad(d)}`;
    case 'weekly': {
      // ISO 8601 week (Monday to Sunday) of the local calendar date: the week's Thursday names its year.
      const date = Date.UTC(y, m - 1, d);
      const weekday = (new Date(date).getUTCDay() + 6) % 7;
      const thursday = new Date(date + (3 - weekday) * DAY_MS);
      const isoYear = thursday.getUTCFullYear();
      const week = 1 + Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * DAY_MS));
      return `${isoYear}-W${pad(week)}`;
    }
    case 'monthly':
      return `${y}-${pad(m)}`;
    case 'yearly':
      return `${y}`;
  }
}

interface PeriodVerdict {
  kept: Map<StoredRun, string>;
  /** Why a whole run is not kept by this rule. */
  not: Map<StoredRun, string>;
}

/** One keep_* rule over whole runs, newest first. */
function planPeriod(whole: readonly StoredRun[], period: Period, n: number): PeriodVerdict {
  const [one, many] = NOUN[period];
  const verdict: PeriodVerdict = { kept: new Map(), not: new Map() };
  let last: string | undefined;
  let periods = 0;
  for (const run of whole) {
    const label = periodLabel(period, run.time);
    if (label === last) {
      verdict.not.set(run, `not the last run of ${one} ${label}`);
      continue;
    }
    last = label;
    periods++;
    if (periods <= n) verdict.kept.set(run, `${period} ${label}`);
    else verdict.not.set(run, `${one} ${label} is beyond the ${n} newest ${many} with runs`);
  }
  const oldest = whole[whole.length - 1];
  if (oldest && periods < n && !verdict.kept.has(oldest)) {
    verdict.kept.set(oldest, `the oldest whole run (keep_${period} ${n} found only ${periods} ${periods === 1 ? one : many})`);
    verdict.not.delete(oldest);
  }
  return verdict;
}

/**
 * Which runs stay and which go, each with its reason. `runs` may hold any runs of the source;
 * only this job's runs that are not in progress are candidates.
 */
export function planRetention(runs: readonly StoredRun[], policy: RetentionPolicy, now: Date, protectRunKeys: readonly string[] = []): RetentionPlan {
  const sorted = [...runs].sort(compareSlotsNewestFirst);
  const newestWhole = sorted.find((r) => isWhole(r));
  const periods = PERIODS.filter((p) => policy[p] !== undefined);
  // Without keep_* rules, the original rule decides alone (and an empty policy keeps everything).
  const original = periods.length === 0 || policy.copies !== undefined || policy.days !== undefined;
  const whole = sorted.filter((r) => r.state !== 'other' && r.state !== 'running' && isWhole(r));
  const verdicts = periods.map((p) => [p, planPeriod(whole, p, policy[p]!)] as const);
  const plan: RetentionPlan = { keep: [], remove: [] };
  let wholeSeen = 0;
  let wholeNewer = false;
  for (const run of sorted) {
    if (run.state === 'other') {
      plan.keep.push({ run, reason: `a run of another job or host, never touched` });
      continue;
    }
    if (run.state === 'running') {
      plan.keep.push({ run, reason: 'in progress' });
      continue;
    }
    const isWholeRun = isWhole(run);
    const keptBy: string[] = [];
    const goes: string[] = [];
    if (original) {
      const against: string[] = [];
      if (policy.copies !== undefined && wholeSeen >= policy.copies) against.push(`beyond the ${policy.copies} newest copies`);
      if (policy.days !== undefined && now.getTime() - run.time.getTime() > policy.days * DAY_MS) against.push(`older than ${policy.days} days`);
      if (isWholeRun) wholeSeen++;
      if (against.length) goes.push(against.join(' and '));
      else keptBy.push(isWholeRun ? `copy ${wholeSeen}` : `${run.state}, does not count as a copy`);
    }
    if (periods.length) {
      if (isWholeRun) {
        for (const [, v] of verdicts) {
          const kept = v.kept.get(run);
          if (kept) keptBy.push(kept);
          else goes.push(v.not.get(run)!);
        }
      } else if (!wholeNewer) keptBy.push(`${run.state}, newer than every whole run (never fills a period)`);
      else goes.push(`${run.state}: incomplete runs never fill a period`);
    }
    if (isWholeRun) wholeNewer = true;
    if (keptBy.length) plan.keep.push({ run, reason: keptBy.join('; ') });
    else if (run === newestWhole) plan.keep.push({ run, reason: `the newest whole run is always kept (${goes.join('; ')})` });
    else if (protectRunKeys.includes(run.runKey)) plan.keep.push({ run, reason: 'the run just stored' });
    else plan.remove.push({ run, reason: goes.join('; ') });
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
  /** The whole plan, before anything is removed (`backup prune` prints it run by run). */
  onPlan?: (plan: RetentionPlan) => void;
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
    options.onPlan?.(plan);
    for (const { run, reason } of plan.keep) {
      if (run.state === 'other') continue;
      report.kept.push(run.runKey);
      report.reasons![run.runKey] = run.runKey === options.upcoming?.runKey ? `the run a real run would store now (${reason})` : reason;
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

/** A destination's retention keys (see src/config/common.ts) as a policy. */
export function retentionPolicy(o: {
  retention_copies?: number;
  retention_days?: number;
  keep_hourly?: number;
  keep_daily?: number;
  keep_weekly?: number;
  keep_monthly?: number;
  keep_yearly?: number;
}): RetentionPolicy {
  const policy: RetentionPolicy = { copies: o.retention_copies, days: o.retention_days };
  for (const p of PERIODS) policy[p] = o[`keep_${p}`];
  return policy;
}
