import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it, vi } from 'vitest';
import { drainOrClose, throttle, whenBroken } from '../../src/pipeline/streams.js';
import { parseRate } from '../../src/config/fields.js';

describe('stream plumbing', () => {
  it('throttle holds a stream to its rate', async () => {
    // On a fake clock: 100 KiB at 200 KiB/s is through at exactly 500 ms, not a moment before.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const chunks = Array.from({ length: 10 }, () => Buffer.alloc(10 * 1024));
      const arrived: number[] = [];
      const started = Date.now();
      const done = pipeline(Readable.from(chunks), throttle(200 * 1024), new Writable({ write: (_c, _e, cb) => (arrived.push(Date.now() - started), cb()) }));
      await vi.advanceTimersByTimeAsync(499);
      expect(arrived).toEqual([50, 100, 150, 200, 250, 300, 350, 400, 450]);
      await vi.advanceTimersByTimeAsync(1);
      await done;
      expect(arrived.at(-1)).toBe(500);
    } finally {
      vi.useRealTimers();
    }
  });

  it('drainOrClose ends on drain, on close, and at once for a stream already destroyed (its close may be past)', async () => {
    const full = new PassThrough({ highWaterMark: 4 });
    expect(full.write('12345')).toBe(false);
    const drained = drainOrClose(full);
    full.read();
    await drained;
    const closing = new PassThrough({ highWaterMark: 4 });
    closing.write('12345');
    const closed = drainOrClose(closing);
    closing.destroy();
    await closed;
    const gone = new PassThrough();
    gone.destroy();
    await new Promise((resolve) => setImmediate(resolve)); // its 'close' has been emitted
    await drainOrClose(gone);
    expect(gone.listenerCount('close')).toBe(0);
  });

  it('whenBroken reports an error and a close before the end, never a normal end', async () => {
    const seen: string[] = [];
    const ended = new PassThrough();
    whenBroken(ended, (e) => seen.push(`ended: ${e.message}`));
    ended.resume();
    ended.end('x');
    const failed = new PassThrough();
    whenBroken(failed, (e) => seen.push(`failed: ${e.message}`));
    failed.destroy(new Error('dumper died'));
    const cut = new PassThrough();
    whenBroken(cut, (e) => seen.push(`cut: ${(e as NodeJS.ErrnoException).code}`));
    cut.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen.sort()).toEqual(['cut: ERR_STREAM_PREMATURE_CLOSE', 'failed: dumper died']);
  });

  it('parses rates', () => {
    expect(parseRate('10M')).toBe(10 * 1024 * 1024);
    expect(parseRate('512K')).toBe(512 * 1024);
    expect(parseRate(1000)).toBe(1000);
  });
});
