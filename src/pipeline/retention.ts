/**
 * Retention, written once over the destination contract (`list`, `get`, `delete`): no
 * destination prunes on its own.
 *
 * Rules (the original's, made safe):
 * - counted in runs, not objects; only keys that parse as runs of this source in this layout;
 * - `retention_copies` N keeps the N newest complete runs (and anything newer than the Nth);
 * - `retention_days` D removes runs older than D days; with both, a run goes when either says so;
 * - never removed: the run just stored, the newest complete run;
 * - a run folder without a manifest is a complete legacy run (written by the original tool)
 *   when it is older than every run that has one; otherwise it is an incomplete leftover.
 */
import type { Destination, StoredObject } from '../destinations/types.js';
import type { RetentionReport } from '../report.js';
import { describeError } from '../errors.js';
import type { KeyLayout } from './keys.js';
import { manifestFileName } from './keys.js';
import { readManifest } from './manifest.js';

export interface RetentionPolicy {
  copies?: number;
  days?: number;
}

export type RunState = 'complete' | 'legacy' | 'incomplete';

export interface StoredRun {
  runKey: string;
  time: Date;
  objects: StoredObject[];
  manifestKey?: string;
  state: RunState;
}

export interface RetentionPlan {
  keep: StoredRun[];
  remove: { run: StoredRun; reason: string }[];
}

const DAY_MS = 86_400_000;

export function isWhole(run: StoredRun): boolean {
  return run.state === 'complete' || run.state === 'legacy';
}

/** Groups a source's keys into runs; reads each manifest to learn whether the run is whole. */
export async function listRuns(destination: Destination, layout: KeyLayout, sourceId: string): Promise<StoredRun[]> {
  const byKey = new Map<string, StoredRun>();
  for await (const object of destination.list(layout.listPrefix(sourceId))) {
    const parsed = layout.parse(object.key, sourceId);
    if (!parsed) continue;
    let run = byKey.get(parsed.runKey);
    if (!run) {
      run = { runKey: parsed.runKey, time: parsed.time, objects: [], state: 'incomplete' };
      byKey.set(parsed.runKey, run);
    }
    run.objects.push(object);
    if (parsed.file === manifestFileName(sourceId)) run.manifestKey = object.key;
  }
  const runs = [...byKey.values()].sort((a, b) => b.time.getTime() - a.time.getTime());
  for (const run of runs) {
    if (!run.manifestKey) continue;
    try {
      run.state = (await readManifest(destination, run.manifestKey)).complete ? 'complete' : 'incomplete';
    } catch {
      run.state = 'incomplete';
    }
  }
  classifyLegacy(runs);
  return runs;
}

/** Runs without a manifest older than every manifest-bearing run were written by the original tool. */
export function classifyLegacy(runsNewestFirst: StoredRun[]): void {
  const withManifest = runsNewestFirst.filter((r) => r.manifestKey);
  const oldestManifest = withManifest.length ? Math.min(...withManifest.map((r) => r.time.getTime())) : Infinity;
  for (const run of runsNewestFirst) {
    if (!run.manifestKey && run.time.getTime() < oldestManifest) run.state = 'legacy';
  }
}

export function planRetention(
  runs: readonly StoredRun[],
  policy: RetentionPolicy,
  now: Date,
  protectRunKeys: readonly string[] = [],
): RetentionPlan {
  const sorted = [...runs].sort((a, b) => b.time.getTime() - a.time.getTime());
  const newestWhole = sorted.find(isWhole);
  const plan: RetentionPlan = { keep: [], remove: [] };
  let wholeSeen = 0;
  for (const run of sorted) {
    const reasons: string[] = [];
    if (policy.copies !== undefined && wholeSeen >= policy.copies) reasons.push(`beyond the ${policy.copies} newest copies`);
    if (policy.days !== undefined && now.getTime() - run.time.getTime() > policy.days * DAY_MS) {
      reasons.push(`older than ${policy.days} days`);
    }
    if (isWhole(run)) wholeSeen++;
    const isProtected = run === newestWhole || protectRunKeys.includes(run.runKey);
    if (reasons.length > 0 && !isProtected) plan.remove.push({ run, reason: reasons.join(' and ') });
    else plan.keep.push(run);
  }
  return plan;
}

export interface ApplyRetentionOptions {
  now?: Date;
  protectRunKeys?: readonly string[];
  dryRun?: boolean;
  onRemove?: (run: StoredRun, reason: string) => void;
}

export async function applyRetention(
  destination: Destination,
  layout: KeyLayout,
  sourceId: string,
  policy: RetentionPolicy,
  options: ApplyRetentionOptions = {},
): Promise<RetentionReport> {
  const report: RetentionReport = { kept: [], deleted: [], dryRun: options.dryRun ?? false };
  if (policy.copies === undefined && policy.days === undefined) return report;
  try {
    const runs = await listRuns(destination, layout, sourceId);
    const plan = planRetention(runs, policy, options.now ?? new Date(), options.protectRunKeys);
    report.kept = plan.keep.map((r) => r.runKey);
    for (const { run, reason } of plan.remove) {
      options.onRemove?.(run, reason);
      if (!options.dryRun) {
        // Manifest first: an interrupted delete leaves an incomplete run, never a "complete" one with holes.
        if (run.manifestKey) await destination.delete([run.manifestKey]);
        await destination.delete(run.objects.map((o) => o.key).filter((k) => k !== run.manifestKey));
      }
      report.deleted.push(run.runKey);
    }
  } catch (error) {
    report.error = describeError(error);
  }
  return report;
}
