/**
 * One stream, many destinations, one read of the source. Each destination gets its own
 * branch; a chunk is written to every live branch and the next chunk waits until every live
 * branch has room (backpressure: the slowest destination sets the pace). A destination that
 * fails is dropped and the others go on.
 *
 * The end of the stream is the commit signal for every destination (their puts are atomic),
 * so it is held back until `beforeCommit` resolves: the dumper's and compressor's exit
 * status. If that rejects, every branch is destroyed with the error and every put aborts.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { DestinationError, PipelineError, describeError } from '../errors.js';
import { stallMessage, watchStalls } from './stall-watch.js';
import { drainOrClose } from './streams.js';
import { streamed } from '../lib/release-memory.js';

export interface Branch {
  id: string;
  /** Starts the destination's put on the branch stream; rejects when the put failed. */
  start: (stream: Readable, signal: AbortSignal) => Promise<{ size: number }>;
}

export interface BranchResult {
  id: string;
  ok: boolean;
  size: number;
  error?: unknown;
  seconds: number;
}

export interface FanOutResult {
  sha256: string;
  bytes: number;
  branches: BranchResult[];
  /** Set when the stream itself failed (source, compressor, encryption): nothing was stored. */
  streamError?: unknown;
}

const BRANCH_HIGH_WATER_MARK = 1 << 20;

interface LiveBranch {
  id: string;
  stream: PassThrough;
  controller: AbortController;
  put: Promise<{ size: number }>;
  failed?: unknown;
  startedAt: number;
  failedNotify: Promise<void>;
  /** Why the stall watchdog dropped it: its put may never settle, and is not waited for. */
  stalled?: Error;
}

export async function fanOut(
  input: Readable,
  branches: readonly Branch[],
  beforeCommit: () => Promise<void>,
  signal: AbortSignal,
  onProgress?: (bytes: number) => void,
  /** stall_timeout in seconds (stall-watch.ts); 0 or absent: no watchdog. */
  stallSeconds = 0,
): Promise<FanOutResult> {
  // Hashed here, on the main thread, while the encryption worker's core does the AES.
  const hash = createHash('sha256');
  let bytes = 0;
  const live: LiveBranch[] = branches.map((b) => {
    const stream = new PassThrough({ highWaterMark: BRANCH_HIGH_WATER_MARK });
    // A branch's failure is reported through its put's promise; the stream error itself is expected.
    stream.on('error', () => undefined);
    const controller = new AbortController();
    const startedAt = performance.now();
    const put = b.start(stream, controller.signal);
    const branch: LiveBranch = { id: b.id, stream, controller, put, startedAt, failedNotify: Promise.resolve() };
    branch.failedNotify = put.then(
      () => undefined,
      (error: unknown) => {
        branch.failed = error;
        stream.destroy();
      },
    );
    return branch;
  });
  const alive = () => live.filter((b) => b.failed === undefined);

  const abortAll = (reason: unknown) => {
    for (const b of live) {
      b.controller.abort(reason);
      b.stream.destroy(reason instanceof Error ? reason : new Error(describeError(reason)));
    }
  };
  const onAbort = () => {
    abortAll(signal.reason ?? new Error('interrupted'));
    // The loop below may be waiting for a chunk that never comes (a producer stopped before
    // its stream ended): ending the input ends the wait.
    input.destroy();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  // Aborted before it began (a producer failed while the encryption was being set up).
  if (signal.aborted) onAbort();

  /** Rejects when the source stalled: also ends a wait for the producers' exit after the stream. */
  let sourceStalled: (error: Error) => void = () => undefined;
  const stalledSource = new Promise<never>((_resolve, reject) => (sourceStalled = reject));
  stalledSource.catch(() => undefined);
  const watch = watchStalls(stallSeconds, (culprit) => {
    if (culprit.kind !== 'destinations') {
      const error = new PipelineError(stallMessage(culprit, stallSeconds));
      sourceStalled(error);
      abortAll(error);
      input.destroy(error);
      return;
    }
    const ids = culprit.ids();
    for (const b of alive().filter((x) => ids.includes(x.id))) {
      const error = new DestinationError(stallMessage(culprit, stallSeconds), { plugin: b.id });
      b.stalled = error;
      b.failed = error;
      b.controller.abort(error);
      b.stream.destroy();
    }
  });

  let streamError: unknown;
  try {
    for await (const chunk of input) {
      watch.progressed();
      const buf = chunk as Buffer;
      hash.update(buf);
      bytes += buf.length;
      streamed(buf.length);
      onProgress?.(bytes);
      const waits: Promise<unknown>[] = [];
      /** The destinations that have not taken this chunk yet. */
      const full = new Set<string>();
      for (const b of alive()) {
        if (!b.stream.write(buf)) {
          full.add(b.id);
          // A branch that fails or is dropped has its stream destroyed: the wait ends with it.
          const drained = drainOrClose(b.stream).then(() => {
            full.delete(b.id);
            watch.progressed();
          });
          waits.push(Promise.race([drained, b.failedNotify]));
        }
      }
      if (waits.length) {
        watch.waitingFor({ kind: 'destinations', ids: () => [...full] });
        await Promise.all(waits);
        watch.progressed();
      }
      watch.waitingFor({ kind: 'source' });
      if (alive().length === 0) break;
    }
    if (signal.aborted) throw signal.reason ?? new Error('interrupted');
    // The programs exit once their output ended; one that does not is a stall too.
    watch.waitingFor({ kind: 'exit' });
    if (alive().length > 0) await Promise.race([beforeCommit(), stalledSource]);
  } catch (error) {
    streamError = error;
    abortAll(error);
  } finally {
    watch.stop();
    signal.removeEventListener('abort', onAbort);
    // Stopped reading early: the producer must see it (storeArtifact then stops the programs).
    if (alive().length === 0 || streamError !== undefined) input.destroy();
  }

  if (streamError === undefined) for (const b of alive()) b.stream.end();

  const results: BranchResult[] = [];
  for (const b of live) {
    if (b.stalled) {
      // Its put may never settle (a write blocked on a hung mount): not waited for.
      results.push({ id: b.id, ok: false, size: 0, error: streamError ?? b.stalled, seconds: (performance.now() - b.startedAt) / 1000 });
      continue;
    }
    try {
      const { size } = await b.put;
      results.push({ id: b.id, ok: streamError === undefined, size, seconds: (performance.now() - b.startedAt) / 1000, error: streamError });
    } catch (error) {
      results.push({ id: b.id, ok: false, size: 0, error: streamError ?? error, seconds: (performance.now() - b.startedAt) / 1000 });
    }
  }
  return { sha256: hash.digest('hex'), bytes, branches: results, streamError };
}
