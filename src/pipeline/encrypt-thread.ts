/**
 * Encryption on a worker thread. openpgp.js's AES-CFB and SHA-1 are serial and take most of
 * the main thread; moving them to a worker lets the main thread hash the ciphertext and feed
 * the destinations at the same time. Chunks move by transfer (no copy) when they own their
 * memory; flow control both ways keeps at most a few chunks in flight.
 *
 * The worker runs the compiled encrypt-worker.js; where that does not exist (running from the
 * TypeScript sources in tests), encryption runs in-process, with the same encryptStream.
 */
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PipelineError } from '../errors.js';
import { encryptStream, type Encryption } from './encrypt.js';

export type WorkerEncryption =
  | { kind: 'passphrase'; passphrase: string }
  | { kind: 'recipients'; armoredKeys: string[]; fingerprints: string[] };

export type ToWorker = { type: 'chunk'; chunk: Uint8Array } | { type: 'end' } | { type: 'abort' } | { type: 'ack' };
export type FromWorker = { type: 'more' } | { type: 'data'; chunk: Uint8Array } | { type: 'end' } | { type: 'error'; message: string };

const WORKER_FILE = new URL('./encrypt-worker.js', import.meta.url);

function workerAvailable(): boolean {
  return WORKER_FILE.protocol === 'file:' && existsSync(fileURLToPath(WORKER_FILE));
}

function forWorker(encryption: Exclude<Encryption, { kind: 'none' }>): WorkerEncryption {
  if (encryption.kind === 'passphrase') return { kind: 'passphrase', passphrase: encryption.passphrase };
  return { kind: 'recipients', armoredKeys: encryption.keys.map((k) => k.armor()), fingerprints: encryption.fingerprints };
}

/** Encrypts `input` on a worker thread when possible; same output as encryptStream. */
export async function encryptOffThread(input: Readable, encryption: Encryption, plugin: string): Promise<Readable> {
  if (encryption.kind === 'none' || !workerAvailable()) return encryptStream(input, encryption);

  const worker = new Worker(WORKER_FILE, { workerData: forWorker(encryption) });
  const post = (message: ToWorker, transfer?: ArrayBuffer[]) => worker.postMessage(message, transfer);
  // Acks owed to the worker for chunks the consumer has not made room for yet (one per chunk).
  let pendingAcks = 0;
  let finished = false;

  const output = new Readable({
    highWaterMark: 4 << 20,
    read() {
      for (; pendingAcks > 0; pendingAcks--) post({ type: 'ack' });
    },
    destroy(error, callback) {
      if (!finished) post({ type: 'abort' });
      void worker.terminate();
      callback(error);
    },
  });

  // Plaintext goes to the worker one chunk per request, so its input never piles up.
  const chunks = input[Symbol.asyncIterator]();
  const feedOne = async () => {
    try {
      const next = await chunks.next();
      if (next.done) return post({ type: 'end' });
      const chunk = next.value as Buffer;
      const owns = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer;
      const sendable = owns ? chunk : new Uint8Array(chunk);
      post({ type: 'chunk', chunk: sendable }, [sendable.buffer as ArrayBuffer]);
    } catch (error) {
      output.destroy(error as Error);
    }
  };

  worker.on('message', (message: FromWorker) => {
    if (message.type === 'more') void feedOne();
    else if (message.type === 'data') {
      if (output.push(Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.byteLength))) post({ type: 'ack' });
      else pendingAcks++;
    } else if (message.type === 'end') {
      finished = true;
      output.push(null);
      void worker.terminate();
    } else if (message.type === 'error') {
      output.destroy(new PipelineError(`encryption failed: ${message.message}`, { plugin }));
    }
  });
  worker.on('error', (error) => output.destroy(new PipelineError(`encryption worker failed: ${error.message}`, { plugin, cause: error })));
  input.once('error', (error) => output.destroy(error));
  return output;
}
