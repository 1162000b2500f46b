/**
 * Encryption on a worker thread. The main thread writes the session-key packets (once per
 * file) and hands the plaintext to a worker that runs the native SEIPD encryptor
 * (openpgp-seipd.ts: AES-256-CFB and the SHA-1 of the MDC), the one part that cannot be split
 * (CFB encryption is serial), so it gets a core of its own; the sha256 of the ciphertext is
 * taken where the stream is consumed (fanout.ts). The workers come from encrypt-worker-pool.ts.
 *
 * Chunks move by transfer both ways (no copy): the input's chunks as they arrive (a pipe's
 * chunks own their memory), gathered into batches of about BATCH_BYTES so that one message
 * carries many; the ciphertext comes back as one message per batch and is handed out chunk by
 * chunk (an object-mode stream of Buffers, so no consumer concatenates them). At most
 * IN_FLIGHT_BYTES are at the worker, and the input pauses while the consumer has not taken
 * what came back (backpressure).
 */
import { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { PipelineError } from '../errors.js';
import { encryptStream, type Encryption } from './encrypt.js';
import { releaseWorker, takeWorker, workerAvailable } from './encrypt-worker-pool.js';
import { transferable } from './openpgp-seipd.js';
import { sessionKeyPackets } from './openpgp-session.js';
import { whenBroken } from './streams.js';

/** A file's encryption: `start` with its session key, its plaintext in `chunks`, then `end`. */
export type ToWorker = { type: 'start'; sessionKey: Uint8Array } | { type: 'chunks'; chunks: Uint8Array[] } | { type: 'end' };
export type FromWorker = { type: 'data'; chunks: Uint8Array[] } | { type: 'end'; chunks: Uint8Array[] } | { type: 'error'; message: string };

/** A message to the worker carries about this much plaintext. */
const BATCH_BYTES = 1 << 20;
/** Plaintext at the worker at most (sent, its ciphertext not back yet). */
const IN_FLIGHT_BYTES = 4 << 20;
/** Ciphertext chunks the output holds before the input pauses. */
const OUTPUT_CHUNKS = 16;

/** A chunk the worker can take by transfer: `chunk` itself when it owns its memory, else a copy. */
function sendable(chunk: Buffer): Uint8Array {
  const owns = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer;
  return owns ? chunk : new Uint8Array(chunk);
}

/**
 * Encrypts `input` on a worker thread when possible; same output as encryptStream, as an
 * object-mode stream of Buffers.
 */
export async function encryptOffThread(input: Readable, encryption: Encryption, plugin: string): Promise<Readable> {
  if (encryption.kind === 'none' || !workerAvailable()) return encryptStream(input, encryption);

  // Listen at once and hold the input while the session key is prepared: Node resumes a
  // child's stdout that has no 'data' listener when the child exits, and the data is then lost.
  // For recipients' keys (openpgp.js) that takes long enough for zstd to finish a small dump.
  /** Set once the session key is there. */
  const ready: { worker?: Worker; output?: Readable } = {};
  let early: Error | undefined;
  let inputEnded = false;
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  /** Plaintext bytes per batch at the worker, oldest first. */
  const inFlight: number[] = [];
  let inFlightBytes = 0;
  let wanted = true;
  let finished = false;

  /** The input runs while the worker has room and the consumer keeps up. */
  const flow = () => {
    if (!ready.output || ready.output.destroyed) return;
    if (wanted && inFlightBytes < IN_FLIGHT_BYTES) input.resume();
    else input.pause();
  };
  const post = () => {
    if (!ready.worker || batch.length === 0) return;
    inFlight.push(batchBytes);
    inFlightBytes += batchBytes;
    ready.worker.postMessage({ type: 'chunks', chunks: batch } satisfies ToWorker, transferable(batch));
    batch = [];
    batchBytes = 0;
  };
  const endInput = () => {
    post();
    ready.worker?.postMessage({ type: 'end' } satisfies ToWorker);
  };
  const onData = (chunk: Buffer) => {
    if (chunk.length === 0) return;
    const part = sendable(chunk);
    batch.push(part);
    batchBytes += part.length;
    if (batchBytes >= BATCH_BYTES && ready.worker) {
      post();
      flow();
    }
  };
  input.on('data', onData);
  input.pause();
  input.once('end', () => {
    inputEnded = true;
    if (ready.worker) endInput();
  });
  whenBroken(input, (error) => {
    if (ready.output) ready.output.destroy(error);
    else early ??= error;
  });

  const { sessionKey, packets } = await sessionKeyPackets(encryption);
  const started = takeWorker();
  started.postMessage({ type: 'start', sessionKey } satisfies ToWorker);
  const out = new Readable({
    objectMode: true,
    highWaterMark: OUTPUT_CHUNKS,
    read() {
      wanted = true;
      flow();
    },
    destroy(error, callback) {
      input.off('data', onData);
      // A worker given back after its file ended is another file's now; any other is stopped.
      if (!finished) void started.terminate();
      callback(error);
    },
  });
  ready.worker = started;
  ready.output = out;
  out.push(Buffer.from(packets));

  const deliver = (parts: Uint8Array[]) => {
    for (const part of parts) {
      if (!out.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength))) wanted = false;
    }
  };
  const onMessage = (message: FromWorker) => {
    if (out.destroyed) return;
    if (message.type === 'data') {
      inFlightBytes -= inFlight.shift() ?? 0;
      deliver(message.chunks);
      flow();
    } else if (message.type === 'end') {
      deliver(message.chunks);
      finished = true;
      started.off('message', onMessage).off('error', onError).off('exit', onExit);
      releaseWorker(started);
      out.push(null);
    } else {
      out.destroy(new PipelineError(`encryption failed: ${message.message}`, { plugin }));
    }
  };
  const onError = (error: Error) => out.destroy(new PipelineError(`encryption worker failed: ${error.message}`, { plugin, cause: error }));
  const onExit = () => {
    if (!finished && !out.destroyed) out.destroy(new PipelineError('encryption worker stopped', { plugin }));
  };
  started.on('message', onMessage).on('error', onError).on('exit', onExit);
  if (early) out.destroy(early);
  else {
    // What arrived while the key was prepared goes now.
    if (inputEnded) endInput();
    else if (batchBytes >= BATCH_BYTES) post();
    flow();
  }
  return out;
}
