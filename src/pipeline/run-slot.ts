/**
 * One run, one place: before its first artifact, a run claims a slot on every destination it
 * stores to, so that it never writes, overwrites or deletes an object of another run.
 *
 * The contract has no "create if absent", so the claim works over `put` and `list` alone:
 * 1. a slot (the run's time, then sequence numbers 2, 3, ...) is taken only if nothing of this
 *    source is stored in it yet;
 * 2. the run stores its claim `<id>.run-<run id>.json` there, then lists the slot again;
 * 3. if anything else is there, it lost the race: it removes its claim and tries the next slot.
 * Of two runs racing for one slot, the one that lists second always sees the other's claim (it
 * lists after its own put, which came after the other's put or before the other's list), so at
 * most one keeps the slot; both may yield, and then try the next slot after a random pause. A
 * slot with any leftover (a crashed run's claim or files) is never reused, nor is a slot below the
 * highest one taken at the same time (its run was removed): keys keep the order of the runs.
 */
import type { Destination } from '../destinations/types.js';
import { describeError, PipelineError } from '../errors.js';
import { currentProcessIdentity } from '../lib/process-identity.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { formatRunKey, type KeyLayout, type RunSlot } from './keys.js';
import { claimFileName, MANIFEST_FORMAT, storeJson, type RunClaim } from './manifest.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** Far more than any real schedule needs; a bound so that a broken listing cannot loop for ever. */
const MAX_SLOTS = 100;

export interface SlotTarget {
  id: string;
  destination: Destination;
  layout: KeyLayout;
}

export interface ClaimedSlot {
  target: SlotTarget;
  slot: RunSlot;
  runKey: string;
  claimKey: string;
}

export interface ClaimRequest {
  sourceId: string;
  sourceType: string;
  runId: string;
  hostname: string;
  job: string;
  started: Date;
  signal: AbortSignal;
}

export interface ClaimOutcome {
  claimed: ClaimedSlot[];
  /** Destinations that could not be claimed on (unreachable, refused the write), by id. */
  failed: Map<string, unknown>;
}

async function slotObjects(target: SlotTarget, sourceId: string, slot: RunSlot): Promise<string[]> {
  const runKey = formatRunKey(slot);
  const keys: string[] = [];
  for await (const object of target.destination.list(target.layout.runPrefix(sourceId, slot))) {
    if (target.layout.parse(object.key, sourceId)?.runKey === runKey) keys.push(object.key);
  }
  return keys;
}

function claimBody(request: ClaimRequest, runKey: string): RunClaim {
  return {
    format: MANIFEST_FORMAT,
    state: 'running',
    tool: TOOL_NAME,
    tool_version: TOOL_VERSION,
    source: { id: request.sourceId, type: request.sourceType },
    hostname: request.hostname,
    job: request.job,
    run_id: request.runId,
    run_key: runKey,
    started_at: request.started.toISOString(),
    process: currentProcessIdentity(),
  };
}

/**
 * The highest sequence number stored at this run's time: a slot below it may be free again
 * (retention removed its run), but a run there would sort before an older one.
 */
async function highestSeq(target: SlotTarget, request: Pick<ClaimRequest, 'sourceId' | 'started'>): Promise<number> {
  const time = target.layout.slotTime(request.started).getTime();
  let highest = 0;
  for await (const object of target.destination.list(target.layout.listPrefix(request.sourceId))) {
    const parsed = target.layout.parse(object.key, request.sourceId);
    if (parsed && parsed.time.getTime() === time) highest = Math.max(highest, parsed.seq);
  }
  return highest;
}

/**
 * The first sequence number a run started at `request.started` tries: past the highest stored
 * at that time on any target. `onError` gets a target whose listing failed (then left out).
 */
export async function firstSeq(
  targets: readonly SlotTarget[],
  request: Pick<ClaimRequest, 'sourceId' | 'started'>,
  onError: (target: SlotTarget, error: unknown) => void = () => undefined,
): Promise<number> {
  let first = 1;
  for (const t of targets) {
    try {
      first = Math.max(first, (await highestSeq(t, request)) + 1);
    } catch (error) {
      onError(t, error);
    }
  }
  return first;
}

/** Claims one slot, the same sequence number on every target, so the run has one key everywhere. */
export async function claimRunSlot(targets: readonly SlotTarget[], request: ClaimRequest): Promise<ClaimOutcome> {
  const failed = new Map<string, unknown>();
  const live = () => targets.filter((t) => !failed.has(t.id));
  const attempt = async (t: SlotTarget, step: (t: SlotTarget) => Promise<void>) => {
    try {
      await step(t);
    } catch (error) {
      failed.set(t.id, error);
    }
  };
  const claimName = claimFileName(request.sourceId, request.runId);
  const first = await firstSeq(targets, request, (t, error) => failed.set(t.id, error));
  for (let seq = first; seq < first + MAX_SLOTS && live().length > 0; seq++) {
    if (request.signal.aborted) throw request.signal.reason ?? new PipelineError('interrupted');
    const slotOf = (t: SlotTarget): RunSlot => ({ time: t.layout.slotTime(request.started), seq });
    let occupied = false;
    for (const t of live()) {
      await attempt(t, async () => {
        if ((await slotObjects(t, request.sourceId, slotOf(t))).length > 0) occupied = true;
      });
    }
    if (occupied) continue;

    const claimed: ClaimedSlot[] = [];
    for (const t of live()) {
      const slot = slotOf(t);
      const runKey = formatRunKey(slot);
      const claimKey = t.layout.objectKey(request.sourceId, slot, claimName);
      await attempt(t, async () => {
        await storeJson(t.destination, claimKey, claimBody(request, runKey), request.signal);
        claimed.push({ target: t, slot, runKey, claimKey });
      });
    }
    let lost = false;
    for (const c of claimed) {
      await attempt(c.target, async () => {
        if ((await slotObjects(c.target, request.sourceId, c.slot)).some((k) => k !== c.claimKey)) lost = true;
      });
    }
    const kept = claimed.filter((c) => !failed.has(c.target.id));
    if (!lost) return { claimed: kept, failed };
    await releaseClaims(claimed);
    await sleep(Math.floor(Math.random() * 200), undefined, { signal: request.signal }).catch(() => undefined);
  }
  if (live().length > 0) {
    for (const t of live()) failed.set(t.id, new PipelineError(`no free run slot for ${request.sourceId} after ${MAX_SLOTS} tries`));
  }
  return { claimed: [], failed };
}

/** Removes claims (after the final manifest, or when the run stored nothing). Best effort. */
export async function releaseClaims(claims: readonly ClaimedSlot[], onError?: (claim: ClaimedSlot, error: unknown) => void): Promise<void> {
  for (const c of claims) {
    await c.target.destination.delete([c.claimKey]).catch((error: unknown) => onError?.(c, error));
  }
}

/** `destinationId`: the destination the message is shown under, which the text then does not repeat. */
export function describeClaimFailure(error: unknown, destinationId?: string): string {
  return `cannot claim a run slot: ${describeError(error, destinationId === undefined ? undefined : { layer: 'destination', plugin: destinationId })}`;
}
