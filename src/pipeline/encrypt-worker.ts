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
      const chunks = message.chunks.flatMap((chunk) => encryptor.update(chunk));
      for (const chunk of chunks) streamed(chunk.length);
      send({ type: 'data', chunks });
    }
    else send({ type: 'end', chunks: encryptor.final() });
  } catch (error) {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
