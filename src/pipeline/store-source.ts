/**
 * A source's run on its destinations, following the protocol in the README ("Runs on a
 * destination"):
 * 1. claim a slot on every destination (run-slot.ts): the run says it exists before it writes;
 * 2. sweep what dead runs left (partial uploads, temp folders with credentials files);
 * 3. store each artifact, fanned out to every destination still standing;
 * 4. finish on each destination: the final manifest, then release the claim, then retention,
 *    counted over whole runs of this job and host only.
 * Whatever happens in 3, step 4 runs for every destination that holds a claim: a destination
 * that stored nothing gives its claim back, one that stored part of a run gets a manifest saying
 * it is not complete. A crash anywhere leaves a claim without a final manifest: `incomplete`.
 */
import { dirname } from 'node:path';
import type { LoadedSource } from '../config/job.js';
import type { Destination } from '../destinations/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DestinationReport, SourceReport, SweptItem } from '../report.js';
import type { Source, SourceContext } from '../sources/types.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import type { Encryption } from './encrypt.js';
import { formatRunKey } from './keys.js';
import { MANIFEST_FORMAT, isClaimFile, storeManifest, type ManifestFile } from './manifest.js';
import { applyRetention, hasPolicy, retentionPolicy } from './retention.js';
import { claimRunSlot, describeClaimFailure, firstSeq, releaseClaims, type ClaimedSlot, type SlotTarget } from './run-slot.js';
import type { ReadyDestination, SourceRunContext } from './run.js';
import { dataObjects, describeOwner, listRuns, sameOwner, type RunOwner, type StoredRun } from './runs.js';
import { storeArtifact } from './store-artifact.js';
import { DEFAULT_STALL_SECONDS } from './stall-watch.js';
import { sweepPartials, sweepTempFolders, type SweptLeftover } from './sweep.js';

/** Partial uploads of runs whose owner is unknown (no claim: written before claims existed) go once this old. */
const UNOWNED_PARTIAL_AGE_MS = 24 * 3600 * 1000;
const HALF_WRITTEN_CLAIM_AGE_MS = 10 * 60 * 1000;

/** One destination in this source's run: where it stores, what it reported, its claimed slot. */
interface DestinationRun {
  ready: ReadyDestination;
  report: DestinationReport;
  claim?: ClaimedSlot;
}

export interface StoreContext {
  o: LoadedSource['options'];
  sourceType: string;
  encryption: Encryption;
  run: SourceRunContext;
  report: SourceReport;
  log: Logger;
  failDestination: (id: string, error: unknown) => void;
}

export function runOwner(run: SourceRunContext): RunOwner {
  return { hostname: run.report.hostname, job: run.report.jobName };
}

/** The destination as run-slot.ts sees it (only for one that was created). */
const slotTarget = (d: DestinationRun): SlotTarget => ({ id: d.report.id, destination: d.ready.destination!, layout: d.ready.layout });

function pairDestinations(destinations: readonly ReadyDestination[], report: SourceReport): DestinationRun[] {
  return destinations.map((ready) => {
    const r = report.destinations.find((x) => x.id === ready.loaded.options.id);
    if (!r) throw new Error(`no report for destination ${ready.loaded.options.id}`);
    return { ready, report: r };
  });
}

export async function storeSource(source: Source, ctx: SourceContext, destinations: readonly ReadyDestination[], s: StoreContext): Promise<void> {
  const { o, report, log, run } = s;
  const all = pairDestinations(destinations, report);
  const usable = () => all.filter((d) => d.ready.destination && d.claim && d.report.status !== 'failure');
  if (all.every((d) => !d.ready.destination || d.report.status === 'failure')) throw new Error('no destination is usable');

  await claimSlots(all, s);
  if (usable().length === 0) throw new Error('no destination is usable');
  await sweepLeftovers(all, ctx, s);

  const files: ManifestFile[] = [];
  let complete = false;
  // A failed artifact stops the source's own programs (dumper, ssh) too, not only the pipeline's.
  const sourceStop = new AbortController();
  const openCtx: SourceContext = { ...ctx, signal: AbortSignal.any([ctx.signal, sourceStop.signal]) };
  try {
    for await (const artifact of source.open(openCtx)) {
      const targets = usable();
      if (targets.length === 0) {
        artifact.stream.destroy();
        await artifact.done.catch(() => undefined);
        throw new Error('every destination failed');
      }
      log.info({ artifact: artifact.name }, `dumping ${artifact.name}`);
      const stored = await storeArtifact(
        artifact,
        {
          sourceId: o.id,
          compression: o.compression ?? 'zstd',
          compressionLevel: o.compression_level,
          encryption: s.encryption,
          signal: openCtx.signal,
          stopSource: (reason) => sourceStop.abort(reason),
          onProgress: run.onProgress,
          stallSeconds: o.stall_timeout ?? DEFAULT_STALL_SECONDS,
        },
        (file) =>
          targets.map((d) => ({
            id: d.report.id,
            destination: d.ready.destination!,
            key: d.ready.layout.objectKey(o.id, d.claim!.slot, file),
            rateLimit: d.ready.loaded.options.upload_rate_limit,
          })),
      );
      report.warnings.push(...stored.warnings);
      for (const w of stored.warnings) log.warn(w);
      if (stored.error !== undefined) throw stored.error;
      if (!stored.branches.some((b) => b.ok)) {
        for (const branch of stored.branches) s.failDestination(branch.id, branch.error);
        throw new Error(`${stored.file} was stored on no destination`);
      }
      report.artifacts.push({ name: stored.name, file: stored.file, rawBytes: stored.rawBytes, storedBytes: stored.bytes, sha256: stored.sha256, seconds: stored.dumpSeconds });
      files.push({ file: stored.file, name: stored.name, size: stored.bytes, sha256: stored.sha256, raw_size: stored.rawBytes, ...(artifact.originalName ? { original_name: artifact.originalName } : {}) });
      for (const branch of stored.branches) {
        const d = targets.find((t) => t.report.id === branch.id);
        if (!d) continue;
        if (!branch.ok) {
          s.failDestination(branch.id, branch.error);
          continue;
        }
        d.report.keys.push(d.ready.layout.objectKey(o.id, d.claim!.slot, stored.file));
        d.report.storedBytes += branch.size;
        d.report.uploadSeconds += branch.seconds;
        if (branch.size !== stored.bytes) s.failDestination(branch.id, new Error(`stored ${branch.size} bytes of ${stored.bytes}`));
      }
      const mb = stored.bytes / 1048576;
      log.info({ artifact: stored.file, bytes: stored.bytes, seconds: Number(stored.dumpSeconds.toFixed(2)) }, `stored ${stored.file} (${mb.toFixed(1)} MiB, ${(mb / Math.max(stored.dumpSeconds, 0.001)).toFixed(1)} MiB/s)`);
    }
    if (files.length === 0) throw new Error('the source produced no artifact');
    complete = true;
  } finally {
    await finishOnDestinations(all, files, complete, s);
  }
}

async function claimSlots(all: DestinationRun[], s: StoreContext): Promise<void> {
  const candidates = all.filter((d) => d.ready.destination && d.report.status !== 'failure');
  const outcome = await claimRunSlot(
    candidates.map(slotTarget),
    {
      sourceId: s.o.id,
      sourceType: s.sourceType,
      runId: s.run.report.runId,
      hostname: s.run.report.hostname,
      job: s.run.report.jobName,
      started: s.run.started,
      signal: s.run.signal,
    },
  );
  for (const [id, error] of outcome.failed) s.failDestination(id, new Error(describeClaimFailure(error, id)));
  // The report names the run as the destinations store it (a date-only layout's day, a later slot's suffix).
  if (outcome.claimed[0]) s.report.runKey = outcome.claimed[0].runKey;
  for (const claim of outcome.claimed) {
    const d = all.find((x) => x.report.id === claim.target.id);
    if (!d) continue;
    d.claim = claim;
    d.report.runKey = claim.runKey;
    if (claim.slot.seq > 1) s.log.info({ destination: d.report.id }, `run ${claim.runKey}: an earlier run already holds this slot on ${d.report.id}; this run takes the next`);
  }
}

/**
 * Which partial uploads a dead run of this job left: never the current run's, a live run's, or
 * another job's. A half-written claim in an otherwise empty slot (the runner died while claiming)
 * has no owner to ask; a claim takes milliseconds to write, so one this old is nobody's.
 */
export function leftoverPolicy(runs: readonly StoredRun[], me: RunOwner, current: string, now: number, sourceId: string) {
  const byKey = new Map(runs.map((r) => [r.runKey, r]));
  return (runKey: string | undefined, file: string, lastModified: Date | undefined): boolean => {
    if (runKey === undefined || runKey === current) return false;
    const run = byKey.get(runKey);
    if (run && (run.state === 'running' || run.state === 'other')) return false;
    if (run?.owner) return sameOwner(run.owner, me);
    const age = lastModified === undefined ? 0 : now - lastModified.getTime();
    if (!run && isClaimFile(file, sourceId)) return age > HALF_WRITTEN_CLAIM_AGE_MS;
    return age > UNOWNED_PARTIAL_AGE_MS;
  };
}

async function sweepLeftovers(all: DestinationRun[], ctx: SourceContext, s: StoreContext): Promise<void> {
  const { o, log } = s;
  const logSwept = (where: string, swept: readonly SweptLeftover[]) => {
    if (swept.length === 0) return;
    const bytes = swept.reduce((n, x) => n + (x.size ?? 0), 0);
    log.info(`swept ${swept.length} leftover(s) of interrupted runs ${where} (${bytes} bytes): ${swept.map((x) => `${x.kind} ${x.key}`).join(', ')}`);
  };
  try {
    const swept = await sweepTempFolders(dirname(ctx.tmpdir));
    s.report.swept = swept.map(toItem);
    logSwept('from the temporary folder', swept);
  } catch (error) {
    log.warn(`sweeping temporary folders failed: ${describeError(error)}`);
  }
  for (const d of all) {
    const destination = d.ready.destination;
    if (!d.claim || !destination) continue;
    try {
      const runs = await listRuns(destination, d.ready.layout, o.id, runOwner(s.run));
      warnAboutOtherOwners(runs, d.report.id, s);
      const empty = await sweepEmptyRuns(destination, runs, runOwner(s.run), d.claim.runKey);
      const swept = destination.listPartial ? await sweepPartialsOf(d, runs, s) : [];
      d.report.swept = [...empty, ...swept].map(toItem);
      logSwept(`on ${d.report.id}`, [...empty, ...swept]);
    } catch (error) {
      log.warn({ destination: d.report.id }, `sweeping leftovers on ${d.report.id} failed: ${describeError(error)}`);
    }
  }
}

/** Runs that died before storing anything leave only their claim: that is a leftover, not a run. */
async function sweepEmptyRuns(destination: Destination, runs: readonly StoredRun[], me: RunOwner, current: string): Promise<SweptLeftover[]> {
  const empty = runs.filter((r) => r.runKey !== current && r.state === 'incomplete' && r.claim && !r.manifestKey && r.owner && sameOwner(r.owner, me) && dataObjects(r).length === 0);
  for (const run of empty) await destination.delete(run.claimKeys);
  return empty.map((r) => ({ key: r.claimKeys[0]!, kind: 'empty interrupted run' }));
}

async function sweepPartialsOf(d: DestinationRun, runs: readonly StoredRun[], s: StoreContext): Promise<SweptLeftover[]> {
  const { o } = s;
  const layout = d.ready.layout;
  const canRemove = leftoverPolicy(runs, runOwner(s.run), d.claim!.runKey, Date.now(), o.id);
  return sweepPartials(d.ready.destination!, layout.listPrefix(o.id), (p) => {
    const parsed = layout.parse(p.key, o.id);
    return canRemove(parsed?.runKey, parsed?.file ?? '', p.lastModified);
  });
}

/** Two jobs or hosts writing one source id under one prefix is legal but surprising: say so, every run. */
function warnAboutOtherOwners(runs: readonly StoredRun[], destinationId: string, s: StoreContext): void {
  const owners = new Set(runs.filter((r) => r.state === 'other').map((r) => describeOwner(r.owner)));
  if (owners.size === 0) return;
  const message = `destination ${destinationId} also holds runs of ${s.o.id} by ${[...owners].join(', ')}: they share this prefix, and this job neither counts nor removes them (give each job its own key_template or hostname to keep them apart)`;
  s.report.warnings.push(message);
  s.log.warn({ destination: destinationId }, message);
}

function toItem(x: SweptLeftover): SweptItem {
  return { kind: x.kind, key: x.key, ...(x.size === undefined ? {} : { size: x.size }) };
}

/**
 * The "finish a source on a destination" step: manifest, claim released, retention. A
 * destination that stored nothing gives its claim back and keeps no trace of this run.
 */
async function finishOnDestinations(all: DestinationRun[], files: ManifestFile[], complete: boolean, s: StoreContext): Promise<void> {
  const { o, report, log, run } = s;
  // Writes after an interruption still happen: a claim left behind is safe, but a clean end is clearer.
  const signal = new AbortController().signal;
  for (const d of all) {
    const destination = d.ready.destination;
    if (!destination || !d.claim) continue;
    if (d.report.keys.length === 0) {
      // Nothing of this run is there: give the slot back rather than leave an empty incomplete run.
      await releaseClaims([d.claim], (_c, e) => log.warn(`claim ${d.claim!.claimKey} not removed: ${describeError(e)}`));
      if (d.report.status === 'success') d.report.status = 'skipped';
      continue;
    }
    const whole = complete && d.report.status !== 'failure';
    const manifestKey = d.ready.layout.manifestKey(o.id, d.claim.slot);
    try {
      await storeManifest(
        destination,
        manifestKey,
        {
          format: MANIFEST_FORMAT,
          tool: TOOL_NAME,
          tool_version: TOOL_VERSION,
          source: { id: o.id, type: report.type, name: o.name },
          hostname: run.report.hostname,
          job: run.report.jobName,
          run_id: run.report.runId,
          run_key: d.claim.runKey,
          started_at: report.startedAt,
          finished_at: new Date().toISOString(),
          complete: whole,
          compression: o.compression ?? 'zstd',
          encryption: report.encryption,
          // Only what this destination holds: an artifact another destination took alone is not here.
          files: files.filter((f) => d.report.keys.includes(d.ready.layout.objectKey(o.id, d.claim!.slot, f.file))),
          warnings: report.warnings,
        },
        signal,
      );
      d.report.keys.push(manifestKey);
    } catch (error) {
      s.failDestination(d.report.id, error);
      continue;
    }
    if (!whole) continue;
    await releaseClaims([d.claim], (_c, e) => log.warn(`claim ${d.claim!.claimKey} not removed (harmless, the manifest is stored): ${describeError(e)}`));
    if (!run.signal.aborted) d.report.retention = await prune(d.ready, o.id, runOwner(run), { protect: d.claim.runKey }, log);
  }
}

export interface PruneOptions {
  protect?: string;
  dryRun?: boolean;
  /** The run a real run would store now: a dry run counts it as the newest copy. */
  upcoming?: { runKey: string; time: Date; seq: number };
}

export async function prune(d: ReadyDestination, sourceId: string, owner: RunOwner, options: PruneOptions, log: Logger) {
  const policy = retentionPolicy(d.loaded.options);
  if (!hasPolicy(policy) || !d.destination) return undefined;
  const id = d.loaded.options.id;
  const retention = await applyRetention(d.destination, d.layout, sourceId, policy, {
    owner,
    protectRunKeys: options.protect ? [options.protect] : [],
    dryRun: options.dryRun,
    upcoming: options.upcoming,
    onRemove: (stored, reason) => log.info({ destination: id }, `${options.dryRun ? 'would remove' : 'removing'} run ${stored.runKey} of ${sourceId} on ${id}: ${reason}`),
  });
  if (retention.error) log.warn({ destination: id }, `retention on ${id} failed: ${retention.error}`);
  return retention;
}

/** `--dry-run`: reachability, and the retention plan as if this run had been stored. */
export async function dryRunSource(source: Source, ctx: SourceContext, destinations: readonly ReadyDestination[], s: Pick<StoreContext, 'o' | 'report' | 'log' | 'run'>): Promise<void> {
  const { o, log } = s;
  if (source.check) {
    await source.check(ctx);
    log.info(`source ${o.id}: reachable`);
  }
  const paired = pairDestinations(destinations, s.report);
  // The slot the real run would claim now: past any run stored in the same second (a run
  // started right after another one takes the next sequence number, run-slot.ts).
  const seq = await firstSeq(paired.filter((d) => d.ready.destination).map(slotTarget), { sourceId: o.id, started: s.run.started });
  for (const d of paired) {
    if (!d.ready.destination) continue;
    try {
      await d.ready.destination.check?.();
      const slot = { time: d.ready.layout.slotTime(s.run.started), seq };
      d.report.retention = await prune(d.ready, o.id, runOwner(s.run), { dryRun: true, upcoming: { ...slot, runKey: formatRunKey(slot) } }, log);
      d.report.status = 'skipped';
    } catch (error) {
      d.report.status = 'failure';
      d.report.error = describeError(error, { layer: 'destination', plugin: d.report.id });
    }
  }
}
