/**
 * The fan-out's stall watchdog (stall_timeout): a destination that stops taking data is dropped
 * and the others finish; a source that stops sending fails the stream. Neither holds the run
 * for ever, even when the stopped destination's put never settles (a write blocked on a hung
 * mount).
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fanOut, type Branch } from '../../src/pipeline/fanout.js';

const MiB = 1 << 20;
const chunks = () => Array.from({ length: 8 }, (_, i) => Buffer.alloc(MiB, i));

/** A destination that reads everything it is given. */
const reader = (id: string, got: Buffer[]): Branch => ({
  id,
  start: async (stream) => {
    for await (const chunk of stream) got.push(chunk as Buffer);
    return { size: got.reduce((n, c) => n + c.length, 0) };
  },
});

/** A destination that takes nothing and whose put never ends. */
const hung = (id: string): Branch => ({ id, start: () => new Promise(() => undefined) });

describe('fanOut stall watchdog', () => {
  it('drops a destination that takes no data; the others get every byte', async () => {
    const got: Buffer[] = [];
    const started = Date.now();
    const result = await fanOut(Readable.from(chunks()), [reader('disk', got), hung('nfs')], async () => undefined, new AbortController().signal, undefined, 1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.streamError).toBeUndefined();
    const [disk, nfs] = result.branches;
    expect(disk).toMatchObject({ id: 'disk', ok: true, size: 8 * MiB });
    expect(nfs).toMatchObject({ id: 'nfs', ok: false });
    expect(String(nfs!.error)).toMatch(/accepted no data for 1(\.0)?s \(stall_timeout\): the destination stopped taking data/);
    expect(result.sha256).toBe(createHash('sha256').update(Buffer.concat(chunks())).digest('hex'));
    expect(Buffer.concat(got).equals(Buffer.concat(chunks()))).toBe(true);
  });

  it('fails the stream when the source stops sending without ending', async () => {
    const input = new PassThrough();
    input.write(Buffer.alloc(1000));
    const got: Buffer[] = [];
    const result = await fanOut(input, [reader('disk', got)], async () => undefined, new AbortController().signal, undefined, 1);
    expect(String(result.streamError)).toMatch(/no data from the source for 1(\.0)?s \(stall_timeout\)/);
    expect(result.branches.every((b) => !b.ok)).toBe(true);
  });

  it('fails the stream when the programs never exit after their output ended (nothing committed)', async () => {
    const got: Buffer[] = [];
    const result = await fanOut(Readable.from(chunks()), [reader('disk', got)], () => new Promise<void>(() => undefined), new AbortController().signal, undefined, 1);
    expect(String(result.streamError)).toMatch(/the dump's programs did not exit for 1(\.0)?s \(stall_timeout\) after their output ended/);
    expect(result.branches.every((b) => !b.ok)).toBe(true);
  });

  it('waits as long as data moves, however slowly, and without a timeout at all', async () => {
    async function* slow() {
      for (let i = 0; i < 6; i++) {
        await new Promise((resolve) => setTimeout(resolve, 400));
        yield Buffer.alloc(10, i);
      }
    }
    const got: Buffer[] = [];
    const result = await fanOut(Readable.from(slow()), [reader('disk', got)], async () => undefined, new AbortController().signal, undefined, 1);
    expect(result.streamError).toBeUndefined();
    expect(result.branches[0]).toMatchObject({ ok: true, size: 60 });

    const input = new PassThrough();
    setTimeout(() => input.end(Buffer.alloc(5)), 1500);
    const untimed = await fanOut(input, [reader('disk', [])], async () => undefined, new AbortController().signal, undefined, 0);
    expect(untimed.branches[0]).toMatchObject({ ok: true, size: 5 });
  });
});
