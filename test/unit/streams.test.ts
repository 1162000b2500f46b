import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it, vi } from 'vitest';
import { throttle } from '../../src/pipeline/streams.js';
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

  it('parses rates', () => {
    expect(parseRate('10M')).toBe(10 * 1024 * 1024);
    expect(parseRate('512K')).toBe(512 * 1024);
    expect(parseRate(1000)).toBe(1000);
  });
});
