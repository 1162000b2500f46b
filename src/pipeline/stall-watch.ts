/**
 * The stall watchdog of a stream's fan-out (`stall_timeout`). A dump that stops without ending
 * (tar on a hung NFS mount, pg_dump waiting for a lock, an SSH connection that died without
 * closing) or a destination that stops taking data would otherwise hold the run, and the job's
 * lock, for ever: every later run would then only say "another run is in progress".
 *
 * The fan-out says what it waits for; when nothing moved for the whole timeout, the watchdog
 * names what it was waiting for, and the fan-out stops that.
 */
import { formatDuration } from '../lib/format.js';

/** stall_timeout when neither the source nor the job sets one. */
export const DEFAULT_STALL_SECONDS = 3600;

/** What the fan-out waits for; `ids`: the destinations that have not taken the last chunk yet, as of now. */
export type StallCulprit = { kind: 'source' } | { kind: 'exit' } | { kind: 'destinations'; ids: () => string[] };

export interface StallWatch {
  /** Something moved: a chunk came, or the destinations took what they were given. */
  progressed(): void;
  waitingFor(culprit: StallCulprit): void;
  stop(): void;
}

/** Why the stream stopped, in words, for the culprit. */
export function stallMessage(culprit: StallCulprit, seconds: number): string {
  const time = `${formatDuration(seconds)} (stall_timeout)`;
  if (culprit.kind === 'source') return `no data from the source for ${time}: it stopped without ending (a hung mount, a lock wait, a dead connection?), so the run stops it`;
  if (culprit.kind === 'exit') return `the dump's programs did not exit for ${time} after their output ended, so the run stops them and stores nothing`;
  return `accepted no data for ${time}: the destination stopped taking data (a hung mount or connection?), so the run drops it`;
}

/** Calls `onStall` once when nothing moved for `seconds` (0: never). */
export function watchStalls(seconds: number, onStall: (culprit: StallCulprit) => void): StallWatch {
  let last = Date.now();
  let culprit: StallCulprit = { kind: 'source' };
  const timer =
    seconds > 0
      ? setInterval(
          () => {
            if (Date.now() - last < seconds * 1000) return;
            clearInterval(timer);
            onStall(culprit);
          },
          Math.min(seconds * 250, 30_000),
        )
      : undefined;
  return {
    progressed() {
      last = Date.now();
    },
    waitingFor(next) {
      culprit = next;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
