/**
 * Worker-thread side of off-thread encryption (see encrypt-thread.ts): each plaintext chunk
 * the main thread transfers goes through the native SEIPD encryptor at once; the ciphertext
 * goes back by transfer, with the running sha256 of the whole message (the session-key packets
 * the main thread wrote first, then everything sent from here) in the final message. Loads
 * node:crypto only (no openpgp.js): it starts in a few milliseconds.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { SeipdEncryptor, transferable } from './openpgp-seipd.js';
import type { FromWorker, ToWorker, WorkerInit } from './encrypt-thread.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const encryptor = new SeipdEncryptor(init.sessionKey);
const hash = createHash('sha256').update(init.packets);

const send = (message: FromWorker, chunks: Uint8Array[]) => port.postMessage(message, transferable(chunks));

port.on('message', (message: ToWorker) => {
  try {
    if (message.type === 'chunk') {
      const chunks = encryptor.update(message.chunk);
      for (const c of chunks) hash.update(c);
      send({ type: 'data', chunks }, chunks);
    } else {
      const chunks = encryptor.final();
      for (const c of chunks) hash.update(c);
      send({ type: 'end', chunks, sha256: hash.digest('hex') }, chunks);
    }
  } catch (error) {
    port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) } satisfies FromWorker);
  }
});
