/**
 * The encryption workers (encrypt-worker.ts) of this process. Starting one takes about 50 ms
 * (a V8 isolate and Node's bootstrap), which a small backup would wait for: `backup run`
 * starts one while it loads its job file (`prewarmEncryptWorker`), and a worker whose file
 * ended cleanly takes the next file, so a run of many dumps starts one worker, not one per
 * dump. A worker that failed or was abandoned mid-file is terminated, never reused. Idle
 * workers do not keep the process alive.
 *
 * The worker runs the compiled encrypt-worker.js; inside the single executable
 * (scripts/release) there is no file to load: the worker's bundled code is an asset of the
 * executable, started with `eval`. Where neither exists (running from the TypeScript sources
 * in tests) there is no worker, and encryption runs in-process.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as sea from 'node:sea';
import { Worker } from 'node:worker_threads';

const WORKER_FILE = new URL('./encrypt-worker.js', import.meta.url);
/** The asset scripts/release/build.mjs embeds in the single executable (sea-config.json): encrypt-worker.ts bundled. */
const EMBEDDED_WORKER_ASSET = 'encrypt-worker.cjs';
let embeddedWorker: string | null | undefined;
/** Idle workers, each with the listener that drops it from here if it dies while idle. */
const idle: { worker: Worker; leave: () => void }[] = [];

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

export function workerAvailable(): boolean {
  if (embeddedWorkerCode() !== null) return true;
  return WORKER_FILE.protocol === 'file:' && existsSync(fileURLToPath(WORKER_FILE));
}

function startWorker(): Worker {
  const code = embeddedWorkerCode();
  return code !== null ? new Worker(code, { eval: true }) : new Worker(WORKER_FILE);
}

/**
 * Gives back a worker whose file ended cleanly (the caller has removed its own listeners): it
 * waits unreferenced, and leaves the pool if it dies (an error while idle must not crash the
 * process).
 */
export function releaseWorker(worker: Worker): void {
  const leave = () => {
    const at = idle.findIndex((entry) => entry.worker === worker);
    if (at >= 0) idle.splice(at, 1);
  };
  worker.unref();
  worker.once('exit', leave).once('error', leave);
  idle.push({ worker, leave });
}

/** Starts a worker now for the first file to take (nothing when workers are unavailable). */
export function prewarmEncryptWorker(): void {
  if (idle.length === 0 && workerAvailable()) releaseWorker(startWorker());
}

/** A worker for one file: an idle one, or a new one. Give it back with `releaseWorker` or terminate it. */
export function takeWorker(): Worker {
  const entry = idle.pop();
  if (!entry) return startWorker();
  entry.worker.off('exit', entry.leave).off('error', entry.leave).ref();
  return entry.worker;
}
