/**
 * Gives the memory of buffers that streamed through back to the system sooner. V8 frees a
 * Buffer's memory (a pipe's chunk, a transferred ciphertext) only when a garbage collection
 * finds it dead, and buffer memory alone starts one only after about 64 MiB of it per isolate:
 * two isolates (main thread and encryption worker) then hold up to twice that in dead
 * chunks. A young-generation collection every STEP bytes keeps the peak resident memory flat
 * (measured: 165 → 134 MiB on 1 GiB, the same on 8 GiB) for well under 1% of the CPU time.
 *
 * The collector is reached through V8's `gc` function, exposed at run time; where that is not
 * possible, `streamed` does nothing and memory is freed on V8's own schedule.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const STEP = 16 << 20;

type Collect = (options: { type: 'minor' | 'major' }) => void;

function exposeCollector(): Collect | undefined {
  try {
    setFlagsFromString('--expose-gc');
    // A new context is created with the flag in force: it has `gc`.
    const collect: unknown = runInNewContext('gc');
    return typeof collect === 'function' ? (collect as Collect) : undefined;
  } catch {
    return undefined;
  }
}

let collect: Collect | undefined | null = null;
let since = 0;

/** Counts `bytes` that went through; every STEP bytes, a young-generation collection. */
export function streamed(bytes: number): void {
  since += bytes;
  if (since < STEP) return;
  since = 0;
  if (collect === null) collect = exposeCollector();
  collect?.({ type: 'minor' });
}
