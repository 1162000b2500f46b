import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { coalesce, throttle } from '../../src/pipeline/streams.js';
import { parseRate } from '../../src/config/fields.js';

describe('stream plumbing', () => {
  it('throttle holds a stream to its rate', async () => {
    const chunks = Array.from({ length: 10 }, () => Buffer.alloc(10 * 1024));
    const started = Date.now();
    await pipeline(Readable.from(chunks), throttle(200 * 1024), new Writable({ write: (_c, _e, cb) => cb() }));
    // 100 KiB at 200 KiB/s: about half a second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('coalesce gathers small chunks without losing or reordering bytes', async () => {
    const input = Array.from({ length: 100 }, (_, i) => Buffer.from([i]));
    const out: Buffer[] = [];
    await pipeline(Readable.from(input), coalesce(30), new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
    expect(out.map((c) => c.length)).toEqual([30, 30, 30, 10]);
    expect(Buffer.concat(out)).toEqual(Buffer.concat(input));
  });

  it('parses rates', () => {
    expect(parseRate('10M')).toBe(10 * 1024 * 1024);
    expect(parseRate('512K')).toBe(512 * 1024);
    expect(parseRate(1000)).toBe(1000);
  });
});
