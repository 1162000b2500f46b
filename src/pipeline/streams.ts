/** Stream plumbing shared by the pipeline. */
import { Transform, finished, type Readable, type Writable } from 'node:stream';

/** Waits until `sink` has room again or is gone, leaving no listener behind. */
export function drainOrClose(sink: Writable): Promise<void> {
  // Already destroyed: its 'close' may have been emitted before anyone listened.
  if (sink.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
  });
}

/**
 * Writes `source` into `sink` (a program's stdin) and keeps reading `source` to its end even
 * if the program stops reading early: GNU tar stops at the end-of-archive blocks, but the
 * OpenPGP integrity check and the sha256 happen only at the end of the stream. Returns the
 * bytes read from `source`.
 */
export async function feedAndDrain(source: Readable, sink: Writable): Promise<number> {
  let sinkGone = false;
  let bytes = 0;
  const onError = (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') sinkGone = true;
  };
  sink.on('error', onError);
  sink.once('close', () => (sinkGone = true));
  for await (const chunk of source) {
    bytes += (chunk as Buffer).length;
    if (sinkGone) continue;
    if (!sink.write(chunk)) await drainOrClose(sink);
  }
  if (!sinkGone) sink.end();
  return bytes;
}

/**
 * Limits a stream to about `bytesPerSecond` (a destination's `upload_rate_limit`), so a
 * backup over a shared uplink does not starve production traffic. Backpressure carries the
 * limit back to the source.
 */
export function throttle(bytesPerSecond: number): Transform {
  const started = Date.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, callback) {
      sent += chunk.length;
      const due = started + (sent / bytesPerSecond) * 1000;
      const wait = due - Date.now();
      if (wait <= 0) callback(null, chunk);
      else setTimeout(() => callback(null, chunk), wait);
    },
  });
}

/**
 * Calls `onBroken` once if `input` fails: an error, or a close before its end (its producer was
 * stopped). Such an input must never read as a whole stream that ended.
 */
export function whenBroken(input: Readable, onBroken: (error: Error) => void): void {
  finished(input, { writable: false }, (error) => {
    if (error) onBroken(error);
  });
}

/** `src.pipe(through)` that also carries an error of `src` into `through`. */
export function pipeThrough(src: Readable, through: Transform): Transform {
  src.once('error', (error) => through.destroy(error));
  return src.pipe(through);
}
