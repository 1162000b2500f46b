/**
 * Encryption on a worker thread. The main thread writes the session-key packets (openpgp.js,
 * once per file) and hands the plaintext to a worker that runs the native SEIPD encryptor
 * (openpgp-seipd.ts: AES-256-CFB and the SHA-1 of the MDC) and the sha256 of the ciphertext,
 * so the main thread only moves buffers and feeds the destinations. Chunks move by transfer
 * both ways (no copy); at most IN_FLIGHT chunks are at the worker, and none is sent while the
 * consumer has not taken what came back (backpressure).
 *
 * The worker runs the compiled encrypt-worker.js; where that does not exist (running from the
 * TypeScript sources in tests), encryption runs in-process, with the same encryptor. Inside the
 * single executable (scripts/release) there is no file to load: the worker's bundled code is an
 * asset of the executable, started with `eval`.
 */
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as sea from 'node:sea';
import { Worker } from 'node:worker_threads';
import { PipelineError } from '../errors.js';
import { encryptStream, type Encryption } from './encrypt.js';
import { transferable } from './openpgp-seipd.js';
import { sessionKeyPackets } from './openpgp-session.js';

export interface WorkerInit {
  sessionKey: Uint8Array;
  /** The session-key packets the main thread sends first: the worker's sha256 starts with them. */
  packets: Uint8Array;
}

export type ToWorker = { type: 'chunk'; chunk: Uint8Array } | { type: 'end' };
export type FromWorker =
  | { type: 'data'; chunks: Uint8Array[] }
  | { type: 'end'; chunks: Uint8Array[]; sha256: string }
  | { type: 'error'; message: string };

/** A ciphertext stream that also knows the sha256 of everything it delivered, once it ended. */
export type EncryptedStream = Readable & { sha256?: () => string | undefined };

const WORKER_FILE = new URL('./encrypt-worker.js', import.meta.url);
const IN_FLIGHT = 3;

/** The asset scripts/release/build.mjs embeds in the single executable: encrypt-worker.ts bundled. */
export const EMBEDDED_WORKER_ASSET = 'encrypt-worker.cjs';
let embeddedWorker: string | null | undefined;

/** The bundled worker's code when running as the single executable, else null. */
function embeddedWorkerCode(): string | null {
  if (embeddedWorker === undefined) {
    try {
      embeddedWorker = sea.isSea() ? sea.getAsset(EMBEDDED_WORKER_ASSET, 'utf8') : null;
    } catch {
      embeddedWorker = null;
    }
  }
  return embeddedWorker;
}

function workerAvailable(): boolean {
  if (embeddedWorkerCode() !== null) return true;
  return WORKER_FILE.protocol === 'file:' && existsSync(fileURLToPath(WORKER_FILE));
}

/** Starts encrypt-worker: from its file, or inside the single executable from its embedded code. */
function startWorker(workerData: WorkerInit): Worker {
  const code = embeddedWorkerCode();
  return code !== null ? new Worker(code, { eval: true, workerData }) : new Worker(WORKER_FILE, { workerData });
}

/**
 * Encrypts `input` on a worker thread when possible; same output as encryptStream. The
 * returned stream's `sha256()` gives the digest of the whole ciphertext once it ended (from
 * the worker, which touches every byte anyway).
 */
export async function encryptOffThread(input: Readable, encryption: Encryption, plugin: string): Promise<EncryptedStream> {
  if (encryption.kind === 'none' || !workerAvailable()) return encryptStream(input, encryption);

  // The input may fail while the session key is prepared: keep that error for the output.
  let early: Error | undefined;
  const onEarly = (error: Error) => (early ??= error);
  input.on('error', onEarly);
  const { sessionKey, packets } = await sessionKeyPackets(encryption).finally(() => input.off('error', onEarly));
  const init: WorkerInit = { sessionKey, packets };
  const worker = startWorker(init);
  let digest: string | undefined;
  let inFlight = 0;
  let reading = false;
  let inputDone = false;
  let wanted = true;
  let finished = false;

  const output: EncryptedStream = new Readable({
    highWaterMark: 4 << 20,
    read() {
      wanted = true;
      void pump();
    },
    destroy(error, callback) {
      void worker.terminate();
      callback(error);
    },
  });
  output.sha256 = () => digest;
  output.push(Buffer.from(packets));

  const chunks = input[Symbol.asyncIterator]();
  async function pump(): Promise<void> {
    if (reading) return;
    reading = true;
    try {
      while (wanted && !inputDone && inFlight < IN_FLIGHT && !output.destroyed) {
        const next = await chunks.next();
        if (output.destroyed) return;
        if (next.done) {
          inputDone = true;
          worker.postMessage({ type: 'end' } satisfies ToWorker);
          return;
        }
        const chunk = next.value as Buffer;
        const owns = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer;
        const sendable = owns ? chunk : new Uint8Array(chunk);
        inFlight++;
        worker.postMessage({ type: 'chunk', chunk: sendable } satisfies ToWorker, transferable([sendable]));
      }
    } catch (error) {
      output.destroy(error as Error);
    } finally {
      reading = false;
    }
  }

  const deliver = (parts: Uint8Array[]) => {
    for (const part of parts) {
      if (!output.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength))) wanted = false;
    }
  };
  worker.on('message', (message: FromWorker) => {
    if (output.destroyed) return;
    if (message.type === 'data') {
      inFlight--;
      deliver(message.chunks);
      void pump();
    } else if (message.type === 'end') {
      deliver(message.chunks);
      finished = true;
      digest = message.sha256;
      output.push(null);
      void worker.terminate();
    } else {
      output.destroy(new PipelineError(`encryption failed: ${message.message}`, { plugin }));
    }
  });
  worker.on('error', (error) => output.destroy(new PipelineError(`encryption worker failed: ${error.message}`, { plugin, cause: error })));
  worker.on('exit', () => {
    if (!finished && !output.destroyed) output.destroy(new PipelineError('encryption worker stopped', { plugin }));
  });
  input.once('error', (error) => output.destroy(error));
  if (early) output.destroy(early);
  return output;
}
