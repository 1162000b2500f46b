/**
 * Worker-thread side of off-thread encryption (see encrypt-thread.ts): each batch of plaintext
 * chunks the main thread transfers goes through the native SEIPD encryptor, and its ciphertext
 * goes back by transfer as one message. One file at a time: `start` brings the
 * session key of the next (a worker is reused, encrypt-worker-pool.ts). Loads node:crypto only
 * (no openpgp.js).
 */
import { parentPort } from 'node:worker_threads';
import { streamed } from '../lib/release-memory.js';
import { SeipdEncryptor, transferable } from './openpgp-seipd.js';
import type { FromWorker, ToWorker } from './encrypt-thread.js';

const port = parentPort!;
let encryptor: SeipdEncryptor | undefined;

/** The current file's encryptor; a message out of order is a bug, reported as the file's error. */
function current(): SeipdEncryptor {
  if (!encryptor) throw new Error('no file started');
  return encryptor;
}

const send = (message: FromWorker) => port.postMessage(message, message.type === 'error' ? [] : transferable(message.chunks));

port.on('message', (message: ToWorker) => {
  try {
    if (message.type === 'start') encryptor = new SeipdEncryptor(message.sessionKey);
    else if (message.type === 'chunks') {
      // The batch's chunks are queued as they are (the encryptor copies each piece into its own
      // ciphertext buffer): the ciphertext goes on in pieces of about a MiB, not in the pipe's
      // 64 KiB chunks (each chunk costs every stage downstream a turn of its loop).
      const seipd = current();
      const chunks: Uint8Array[] = [];
      let bytes = 0;
      for (const plain of message.chunks) {
        chunks.push(...seipd.update(plain));
        bytes += plain.length;
      }
      streamed(bytes * 2); // the batch's chunks and their ciphertext
      send({ type: 'data', chunks });
    } else {
      const chunks = current().final();
      encryptor = undefined;
      send({ type: 'end', chunks });
    }
  } catch (error) {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
