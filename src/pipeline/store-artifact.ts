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
import { fanOut, type BranchResult } from './fanout.js';
import { coalesce, pipeThrough, throttle } from './streams.js';

const ENCRYPT_CHUNK_BYTES = 1 << 20;

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
  /** Called as stored bytes grow (for the live progress line). */
  onProgress?: (progress: ArtifactProgress) => void;
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

  const compressed = compressStream(artifact.stream, { method: compression, level: settings.compressionLevel, plugin: settings.sourceId, signal });
  // A failure of the dumper or compressor must stop the stream at once, not only at its end.
  const producers = Promise.all([artifact.done, compressed.done]);
  producers.catch((error: unknown) => stage.abort(error));

  let encrypted: Readable;
  try {
    const chunked = compressed.stream.pipe(coalesce(ENCRYPT_CHUNK_BYTES));
    compressed.stream.once('error', (e) => chunked.destroy(e));
    encrypted = await encryptOffThread(chunked, settings.encryption, settings.sourceId);
  } catch (error) {
    stage.abort(error);
    await producers.catch(() => undefined);
    return failed(error);
  }

  const result = await fanOut(
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
  );
  // Reap the producers whatever happened, so no child outlives the artifact.
  const producerError = await producers.then(
    () => undefined,
    (error: unknown) => error,
  );
  const error = producerError ?? result.streamError;
  settings.onProgress?.({ file, storedBytes: result.bytes, seconds: (performance.now() - started) / 1000, done: true });
  return {
    name: artifact.name,
    file,
    sha256: result.sha256,
    bytes: result.bytes,
    rawBytes: artifact.rawBytes?.() ?? compressed.rawBytes(),
    warnings: artifact.warnings ?? [],
    branches: error === undefined ? result.branches : result.branches.map((b) => ({ ...b, ok: false, error })),
    error: error === undefined ? undefined : wrap(error),
    dumpSeconds: (performance.now() - started) / 1000,
  };

  function wrap(e: unknown): unknown {
    return e instanceof Error ? e : new PipelineError(describeError(e), { plugin: settings.sourceId });
  }
  function failed(e: unknown): StoredArtifact {
    return {
      name: artifact.name,
      file,
      sha256: '',
      bytes: 0,
      warnings: artifact.warnings ?? [],
      branches: targets.map((t) => ({ id: t.id, ok: false, size: 0, error: e, seconds: 0 })),
      error: wrap(e),
      dumpSeconds: (performance.now() - started) / 1000,
    };
  }
}
