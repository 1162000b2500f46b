/**
 * What is stored on a destination, read back as runs: the objects of a source grouped by run,
 * each run classified by positive evidence only (see the README's "Runs on a destination"):
 *
 * - `complete`: its final manifest says so, names this job and host, and every file it lists is
 *   there with the listed size;
 * - `legacy`: no manifest, no claim, and only file names the original tool writes
 *   (`<id>.tar.gpg`, `<id>.sql.gpg`, their `.gz` forms): a run of the tool this one replaces;
 * - `running`: a claim of this job and host whose process is still alive;
 * - `other`: a run of another job or host that shares the prefix (never counted, never removed);
 * - `incomplete`: everything else (interrupted, failed, damaged, unreadable). Never a copy.
 */
import type { Destination, StoredObject } from '../destinations/types.js';
import { describeError } from '../errors.js';
import { isProcessAlive } from '../lib/process-identity.js';
import { compareSlotsNewestFirst, manifestFileName, type KeyLayout, type RunSlot } from './keys.js';
import { isClaimFile, readClaim, readManifest, type Manifest, type RunClaim } from './manifest.js';

export type RunState = 'complete' | 'legacy' | 'incomplete' | 'running' | 'other';

/** Whose run it is: the host and the job file's name recorded in its manifest or claim. */
export interface RunOwner {
  hostname: string;
  /** Absent in manifests written before runs named their job. */
  job?: string;
}

export interface StoredRun extends RunSlot {
  runKey: string;
  /** Every object of the run: data files, manifest, claims. */
  objects: StoredObject[];
  manifestKey?: string;
  manifest?: Manifest;
  claimKeys: string[];
  claim?: RunClaim;
  state: RunState;
  /** Known from the manifest or claim; undefined for legacy runs and unreadable ones. */
  owner?: RunOwner;
  /** Why a run is not whole, or whose it is, in words (list, verify, restore print it). */
  note?: string;
  /** For `other` runs: the state the run has for its own job (complete, incomplete, running). */
  ownerState?: RunState;
}

export function isWhole(run: Pick<StoredRun, 'state'>): boolean {
  return run.state === 'complete' || run.state === 'legacy';
}

/** The data files of a run: everything but its manifest and claims. */
export function dataObjects(run: StoredRun): StoredObject[] {
  return run.objects.filter((o) => o.key !== run.manifestKey && !run.claimKeys.includes(o.key));
}

export function fileOf(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** The names the original tool gives its dumps: `<id>.tar.gpg`, `<id>.sql.gpg`, `.gz` forms, `.gz` alone for compress_only. */
export function isOriginalFileName(file: string, sourceId: string): boolean {
  if (!file.startsWith(`${sourceId}.`)) return false;
  return /^(tar|sql)(\.gz\.gpg|\.gpg|\.gz)$/.test(file.slice(sourceId.length + 1));
}

export function sameOwner(owner: RunOwner, me: RunOwner): boolean {
  return owner.hostname === me.hostname && (owner.job === undefined || me.job === undefined || owner.job === me.job);
}

export function describeOwner(owner: RunOwner | undefined): string {
  if (!owner) return 'unknown';
  return owner.job ? `job ${owner.job} on ${owner.hostname}` : `host ${owner.hostname}`;
}

/** Groups a source's keys into runs, newest first, without reading anything. */
export async function groupRuns(destination: Destination, layout: KeyLayout, sourceId: string, prefix = layout.listPrefix(sourceId)): Promise<StoredRun[]> {
  const byKey = new Map<string, StoredRun>();
  for await (const object of destination.list(prefix)) {
    const parsed = layout.parse(object.key, sourceId);
    if (!parsed) continue;
    let run = byKey.get(parsed.runKey);
    if (!run) {
      run = { runKey: parsed.runKey, time: parsed.time, seq: parsed.seq, objects: [], claimKeys: [], state: 'incomplete' };
      byKey.set(parsed.runKey, run);
    }
    run.objects.push(object);
    if (parsed.file === manifestFileName(sourceId)) run.manifestKey = object.key;
    else if (isClaimFile(parsed.file, sourceId)) run.claimKeys.push(object.key);
  }
  return [...byKey.values()].sort(compareSlotsNewestFirst);
}

/** Every run of a source on a destination, newest first, classified (reads manifests and claims). */
export async function listRuns(destination: Destination, layout: KeyLayout, sourceId: string, me: RunOwner): Promise<StoredRun[]> {
  const runs = await groupRuns(destination, layout, sourceId);
  for (const run of runs) await classifyRun(destination, run, sourceId, me);
  return runs;
}

async function classifyRun(destination: Destination, run: StoredRun, sourceId: string, me: RunOwner): Promise<void> {
  await classifyForOwner(destination, run, sourceId);
  if (run.owner && !sameOwner(run.owner, me)) {
    run.ownerState = run.state;
    run.state = 'other';
    run.note = `a run of ${describeOwner(run.owner)} (${run.ownerState})`;
  }
}

/** The run's state as its own job sees it. */
async function classifyForOwner(destination: Destination, run: StoredRun, sourceId: string): Promise<void> {
  run.claimKeys.sort();
  const firstClaim = run.claimKeys[0];
  if (firstClaim) {
    try {
      run.claim = await readClaim(destination, firstClaim);
      run.owner = { hostname: run.claim.hostname, job: run.claim.job };
    } catch {
      // A claim cut short by a crash: the run is still not whole; the manifest may still name its owner.
    }
  }
  if (run.manifestKey) {
    try {
      run.manifest = await readManifest(destination, run.manifestKey);
      run.owner = { hostname: run.manifest.hostname, job: run.manifest.job };
    } catch (error) {
      run.state = 'incomplete';
      run.note = `its manifest cannot be read (${describeError(error)})`;
      return;
    }
  }
  if (run.manifest) {
    const problem = run.manifest.complete ? missingOrDamaged(run, run.manifest) : 'some artifact failed; the files it lists are good';
    run.state = problem ? 'incomplete' : 'complete';
    run.note = problem;
    return;
  }
  if (run.claim) {
    const alive = isProcessAlive(run.claim.process);
    run.state = alive === false ? 'incomplete' : 'running';
    run.note = alive === false ? `interrupted: its runner (pid ${run.claim.process.pid}) ended before the final manifest` : `in progress (pid ${run.claim.process.pid} on ${run.claim.process.hostname})`;
    return;
  }
  if (run.claimKeys.length > 0) {
    run.state = 'incomplete';
    run.note = 'interrupted: its claim is unreadable and it has no final manifest';
    return;
  }
  const data = dataObjects(run);
  if (data.length > 0 && data.every((o) => isOriginalFileName(fileOf(o.key), sourceId))) {
    run.state = 'legacy';
    run.note = 'written by the original tool (no manifest)';
    return;
  }
  run.state = 'incomplete';
  run.note = 'no manifest: an interrupted run';
}

/** A complete manifest whose files are not all there with their sizes describes a damaged run. */
function missingOrDamaged(run: StoredRun, manifest: Manifest): string | undefined {
  const sizes = new Map(run.objects.map((o) => [fileOf(o.key), o.size]));
  for (const f of manifest.files) {
    const size = sizes.get(f.file);
    if (size === undefined) return `${f.file} is missing`;
    if (size !== f.size) return `${f.file} has ${size} bytes, its manifest says ${f.size}`;
  }
  if (manifest.files.length === 0) return 'its manifest lists no file';
  return undefined;
}

/**
 * The newest whole run (complete or legacy) of this job and, in words, why it was chosen over
 * newer runs. When no run of this job is stored at all (a restore host's own job file, a job file
 * renamed after a disaster), the newest whole run of another job or host is taken, and said so.
 */
export function newestWholeRun(runs: readonly StoredRun[]): { run?: StoredRun; why: string; newer: StoredRun[] } {
  const mine = runs.filter((r) => r.state !== 'other');
  if (mine.length === 0) {
    const theirs = runs.find((r) => r.ownerState === 'complete');
    if (theirs) return { run: theirs, why: `no run of this job is stored; the newest complete run of ${describeOwner(theirs.owner)}`, newer: [] };
  }
  const run = mine.find(isWhole);
  const skipped = run ? mine.slice(0, mine.indexOf(run)) : mine;
  const skippedText = skipped.map(describeRunState).join('; ');
  if (!run) return { why: mine.length === 0 ? 'no run of this job is stored' : `no whole run: ${skippedText}`, newer: skipped };
  const what = run.state === 'legacy' ? 'the newest whole run (legacy, written by the original tool)' : 'the newest complete run';
  return { run, why: skipped.length ? `${what}; newer: ${skippedText}` : what, newer: skipped };
}

/** `20261129000000-2 is incomplete (why)`: a run's state in the words list, verify and restore use. */
export function describeRunState(run: Pick<StoredRun, 'runKey' | 'state' | 'note'>): string {
  return `${run.runKey} is ${run.state}${run.note ? ` (${run.note})` : ''}`;
}

/** Whether a run can be read back as a whole copy (its own state, for other jobs' runs). */
export function isWholeCopy(run: StoredRun): boolean {
  return isWhole(run) || run.ownerState === 'complete';
}
