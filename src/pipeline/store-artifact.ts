/**
 * One artifact through the pipeline: compress → encrypt → hash → fan-out to destinations.
 * Nothing is committed on any destination before the dumper and the compressor have exited
 * successfully.
 */
import type { Readable } from 'node:stream';
import type { Compression } from '../config/common.js';
import type { Destination } from '../destinations/types.js';
import { PipelineError, describeError } from '../errors.js';
import type { Artifact } from '../sources/types.js';
import { COMPRESSION_SUFFIX, compressStream } from './compress.js';
import { ENCRYPTION_SUFFIX, type Encryption } from './encrypt.js';
import { encryptOffThread } from './encrypt-thread.js';
import { fanOut, type BranchResult, type FanOutResult } from './fanout.js';
import { KILL_GRACE_MS, reapPrograms } from '../lib/process.js';
import { pipeThrough, throttle } from './streams.js';

/** How long stopped programs may take to exit (they get SIGKILL after the grace period). */
const REAP_TIMEOUT_MS = KILL_GRACE_MS + 5000;

export interface ArtifactTarget {
  id: string;
  destination: Destination;
  key: string;
  /** Bytes per second (`upload_rate_limit`). */
  rateLimit?: number;
}

export interface ArtifactSettings {
  sourceId: string;
  compression: Compression;
  compressionLevel?: number;
  encryption: Encryption;
  signal: AbortSignal;
  /**
   * Stops the source's own programs (the dumper): called when this artifact cannot go on.
   * It must abort the signal the source spawned its programs with.
   */
  stopSource?: (reason: unknown) => void;
  /** Called as stored bytes grow (for the live progress line). */
  onProgress?: (progress: ArtifactProgress) => void;
  /** stall_timeout in seconds: nothing moved for this long stops the artifact (0: never). */
  stallSeconds?: number;
}

export interface ArtifactProgress {
  file: string;
  storedBytes: number;
  seconds: number;
  done: boolean;
}

export interface StoredArtifact {
  name: string;
  file: string;
  sha256: string;
  bytes: number;
  rawBytes?: number;
  warnings: string[];
  branches: BranchResult[];
  /** Set when the artifact itself failed (dumper, compressor, encryption): nothing was stored. */
  error?: unknown;
  dumpSeconds: number;
}

export function storedFileName(artifact: Pick<Artifact, 'name' | 'precompressed'>, compression: Compression, encryption: Encryption): string {
  const compressed = artifact.precompressed ? '' : COMPRESSION_SUFFIX[compression];
  return `${artifact.name}${compressed}${encryption.kind === 'none' ? '' : ENCRYPTION_SUFFIX}`;
}

/**
 * Resolves when nothing has read `stream` yet; rejects otherwise. When a program exits and
 * nobody listens to its stdout, Node resumes that stdout and throws its data away: a source that
 * awaited I/O between starting its dumper and handing the stream over would pass on the rest of
 * a dump that looks whole (its size, sha256 and MDC all computed over what was left). The
 * artifact then fails, and nothing of it is committed.
 */
function unreadSoFar(stream: Readable, plugin: string): Promise<void> {
  if (stream.readableFlowing !== true && !stream.readableDidRead) return Promise.resolve();
  const lost = Promise.reject(new PipelineError("the dump's output was read before the pipeline took it (a bug of the source): part of it may be missing, so nothing of it is stored", { plugin }));
  lost.catch(() => undefined);
  return lost;
}

export async function storeArtifact(
  artifact: Artifact,
  settings: ArtifactSettings,
  targetsFor: (file: string) => ArtifactTarget[],
): Promise<StoredArtifact> {
  const started = performance.now();
  const compression: Compression = artifact.precompressed ? 'none' : settings.compression;
  const file = storedFileName(artifact, settings.compression, settings.encryption);
  const targets = targetsFor(file);
  const stage = new AbortController();
  const signal = AbortSignal.any([settings.signal, stage.signal]);
  // The artifact's own warnings (tar's exit 1) are known only once its program exited: read at the end.
  const warnings: string[] = [];

  const handedOverUnread = unreadSoFar(artifact.stream, settings.sourceId);
  const compressed = compressStream(artifact.stream, { method: compression, level: settings.compressionLevel, plugin: settings.sourceId, signal });
  let encrypted: Readable | undefined;

  // When the artifact cannot go on, the whole producer chain stops at once: a dumper or a
  // compressor blocked on a full pipe that nobody reads any more would never exit.
  const producerDones = [handedOverUnread, artifact.done, compressed.done];
  let stopped: { reason: unknown; byProducer: boolean } | undefined;
  const stop = (reason: unknown, byProducer: boolean) => {
    if (stopped) return;
    stopped = { reason, byProducer };
    stage.abort(reason); // the pipeline's programs (zstd): SIGTERM, then SIGKILL
    settings.stopSource?.(reason); // the source's own programs (tar, dumpers, ssh commands)
    for (const stream of [artifact.stream, compressed.stream, encrypted]) stream?.destroy();
  };
  // A failure of the dumper or compressor stops the stream at once, not only at its end.
  // After an interruption, the programs' deaths are its consequence, not the cause.
  const producers = Promise.all(producerDones);
  producers.catch((error: unknown) => stop(error, !settings.signal.aborted));

  let result: FanOutResult | undefined;
  let streamError: unknown;
  try {
    encrypted = await encryptOffThread(compressed.stream, settings.encryption, settings.sourceId);
    result = await fanOut(
      encrypted,
      targets.map((t) => ({
        id: t.id,
        start: (stream, s) => t.destination.put(t.key, t.rateLimit ? pipeThrough(stream, throttle(t.rateLimit)) : stream, { signal: s }),
      })),
      async () => {
        await producers;
      },
      signal,
      settings.onProgress && ((bytes) => settings.onProgress!({ file, storedBytes: bytes, seconds: (performance.now() - started) / 1000, done: false })),
      settings.stallSeconds,
    );
    streamError = result.streamError;
  } catch (error) {
    streamError = error; // encryption could not start
  }
  // Stopped reading: failed stream (encryption, interruption, a producer) or no destination left.
  if (streamError !== undefined || !result?.branches.some((b) => b.ok)) stop(streamError ?? new Error('no destination left'), false);

  // Reap the producers whatever happened, so no child outlives the artifact.
  const reaped = await reapPrograms(producerDones, stopped ? REAP_TIMEOUT_MS : undefined);
  if (reaped.pending > 0) warnings.push(`${reaped.pending} program(s) of ${artifact.name} had not exited ${REAP_TIMEOUT_MS / 1000} s after being stopped`);
  // The producer that failed first names the cause; the others' failures are its consequences.
  const error = stopped?.byProducer ? (reaped.first ?? stopped.reason) : (streamError ?? (stopped ? undefined : reaped.first));
  const bytes = result?.bytes ?? 0;
  settings.onProgress?.({ file, storedBytes: bytes, seconds: (performance.now() - started) / 1000, done: true });
  const branches = result?.branches ?? targets.map((t) => ({ id: t.id, ok: false, size: 0, error, seconds: 0 }));
  return {
    name: artifact.name,
    file,
    sha256: result?.sha256 ?? '',
    bytes,
    rawBytes: artifact.rawBytes?.() ?? compressed.rawBytes(),
    warnings: [...(artifact.warnings ?? []), ...warnings],
    branches: error === undefined ? branches : branches.map((b) => ({ ...b, ok: false, error })),
    error: error === undefined ? undefined : wrap(error),
    dumpSeconds: (performance.now() - started) / 1000,
  };

  function wrap(e: unknown): unknown {
    return e instanceof Error ? e : new PipelineError(describeError(e), { plugin: settings.sourceId });
  }

}
