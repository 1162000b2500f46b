/**
 * Worker-thread side of off-thread encryption (see encrypt-thread.ts): each batch of plaintext
 * chunks the main thread transfers goes through the native SEIPD encryptor at once, and its
 * ciphertext goes back by transfer as one message. Loads node:crypto only (no openpgp.js): it
 * starts in a few milliseconds.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { streamed } from '../lib/release-memory.js';
import { SeipdEncryptor, transferable } from './openpgp-seipd.js';
import type { FromWorker, ToWorker, WorkerInit } from './encrypt-thread.js';

const port = parentPort!;
const encryptor = new SeipdEncryptor((workerData as WorkerInit).sessionKey);

const send = (message: FromWorker) => port.postMessage(message, message.type === 'error' ? [] : transferable(message.chunks));

port.on('message', (message: ToWorker) => {
  try {
    if (message.type === 'chunks') {
      // One update per batch: the ciphertext goes on in chunks of about a MiB, not in the
      // pipe's 64 KiB pieces (each chunk costs every stage downstream a turn of its loop).
      const plain = message.chunks.length === 1 ? message.chunks[0]! : Buffer.concat(message.chunks);
      const chunks = encryptor.update(plain);
      streamed(plain.length * 2); // the batch's chunks (and their copy) and the ciphertext
      send({ type: 'data', chunks });
    } else send({ type: 'end', chunks: encryptor.final() });
  } catch (error) {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
