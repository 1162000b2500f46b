/**
 * Worker-thread side of off-thread encryption (see encrypt-thread.ts). It pulls plaintext
 * chunks from the main thread one at a time, encrypts them with the same encryptStream the
 * in-process path uses, and sends the ciphertext back, pausing when the main thread has not
 * taken the last OUTPUT_WINDOW chunks yet.
 */
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import * as openpgp from 'openpgp';
import { encryptStream, forceSeipdV1, type Encryption } from './encrypt.js';
import type { ToWorker, FromWorker, WorkerEncryption } from './encrypt-thread.js';

const OUTPUT_WINDOW = 4;
const port = parentPort!;
const send = (message: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

async function toEncryption(init: WorkerEncryption): Promise<Encryption> {
  if (init.kind === 'passphrase') return init;
  const keys = await Promise.all(
    init.armoredKeys.map(async (armoredKey) => {
      const key = await openpgp.readKey({ armoredKey });
      forceSeipdV1(key);
      return key;
    }),
  );
  return { kind: 'recipients', keys, fingerprints: init.fingerprints };
}

async function main(): Promise<void> {
  const encryption = await toEncryption(workerData as WorkerEncryption);
  let acked = 0;
  let sent = 0;
  let wakeOutput: (() => void) | undefined;
  // A few chunks of read-ahead, so the next chunk is here when the cipher wants it.
  const input = new Readable({
    highWaterMark: 4 << 20,
    read() {
      send({ type: 'more' });
    },
  });
  port.on('message', (message: ToWorker) => {
    if (message.type === 'chunk') input.push(Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.byteLength));
    else if (message.type === 'end') input.push(null);
    else if (message.type === 'abort') input.destroy(new Error('aborted'));
    else if (message.type === 'ack') {
      acked++;
      wakeOutput?.();
    }
  });
  const output = await encryptStream(input, encryption);
  for await (const chunk of output) {
    // Always a copy (Buffer#slice would be a view): transferring openpgp.js's own buffer detaches memory it still uses.
    const copy = new Uint8Array(chunk as Uint8Array);
    send({ type: 'data', chunk: copy }, [copy.buffer]);
    sent++;
    while (sent - acked >= OUTPUT_WINDOW) await new Promise<void>((resolve) => (wakeOutput = resolve));
  }
  send({ type: 'end' });
}

main().catch((error: unknown) => send({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
