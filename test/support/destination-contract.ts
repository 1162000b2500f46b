/**
 * The destination contract, written once and run by every destination's test file:
 *
 *   describeDestinationContract('local', async () => ({ destination, cleanup }));
 *
 * It checks what the pipeline, retention and restore rely on: sha256 round trip (small and
 * large streams), listing across pages and only under the prefix, atomic put (a failing or
 * aborted stream leaves nothing listed), missing keys, idempotent delete, and retention over
 * back-dated runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination } from '../../src/destinations/types.js';
import { ObjectNotFoundError } from '../../src/errors.js';
import { KeyLayout } from '../../src/pipeline/keys.js';
import { applyRetention } from '../../src/pipeline/retention.js';
import { MANIFEST_FORMAT, storeManifest } from '../../src/pipeline/manifest.js';

export interface ContractSubject {
  destination: Destination;
  cleanup?: () => Promise<void>;
}

export interface ContractOptions {
  /** Bytes of the large round trip (default 50 MB, as the destinations issue asks). */
  largeBytes?: number;
  /** How many objects the paging test stores; set it above the fake's page size. */
  pagingObjects?: number;
  /** Per-test timeout for slow protocols. */
  timeoutMs?: number;
}

/** A deterministic pseudo-random stream of `total` bytes, produced in 1 MiB chunks, and its sha256. */
export function randomStream(total: number, seed = 1): { stream: Readable; sha256: Promise<string> } {
  const hash = createHash('sha256');
  let produced = 0;
  let state = seed;
  let resolveHash!: (hex: string) => void;
  const sha256 = new Promise<string>((r) => (resolveHash = r));
  const stream = new Readable({
    read() {
      if (produced >= total) {
        resolveHash(hash.digest('hex'));
        this.push(null);
        return;
      }
      const size = Math.min(1 << 20, total - produced);
      const chunk = Buffer.allocUnsafe(size);
      for (let i = 0; i < size; i += 4) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        if (i + 4 <= size) chunk.writeUInt32LE(state, i);
        else for (let j = i; j < size; j++) chunk[j] = (state >>> (8 * (j - i))) & 0xff;
      }
      produced += size;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, sha256 };
}

/** A stream that sends `bytes` then fails, as a dumper dying mid-way. */
export function failingStream(bytes: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(randomBytes(bytes));
      } else {
        setTimeout(() => this.destroy(new Error('source failed mid-stream')), 20);
      }
    },
  });
}

export async function sha256Of(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

export async function listKeys(destination: Destination, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of destination.list(prefix)) keys.push(object.key);
  return keys.sort();
}

function put(destination: Destination, key: string, body: Readable | Buffer | string) {
  const stream = body instanceof Readable ? body : Readable.from([Buffer.from(body)]);
  return destination.put(key, stream, { signal: new AbortController().signal });
}

export function describeDestinationContract(name: string, makeSubject: () => Promise<ContractSubject>, options: ContractOptions = {}): void {
  const largeBytes = options.largeBytes ?? 50 * 1024 * 1024;
  const pagingObjects = options.pagingObjects ?? 25;
  const timeout = options.timeoutMs ?? 120_000;

  describe(`destination contract: ${name}`, () => {
    let subject: ContractSubject;
    let d: Destination;
    // Every test works under its own prefix so they cannot see each other's objects.
    const run = `contract-${Date.now().toString(36)}`;

    beforeAll(async () => {
      subject = await makeSubject();
      d = subject.destination;
    }, timeout);

    afterAll(async () => {
      await d?.close?.();
      await subject?.cleanup?.();
    }, timeout);

    it('stores a small object and streams it back unchanged', async () => {
      const key = `${run}/small/a.bin`;
      const body = randomBytes(1000);
      const { size } = await put(d, key, body);
      expect(size).toBe(1000);
      const back = await sha256Of(await d.get(key));
      expect(back).toEqual({ sha256: createHash('sha256').update(body).digest('hex'), size: 1000 });
    }, timeout);

    it('stores an empty object', async () => {
      const key = `${run}/empty/zero.bin`;
      await put(d, key, Buffer.alloc(0));
      expect((await sha256Of(await d.get(key))).size).toBe(0);
      expect(await listKeys(d, `${run}/empty/`)).toEqual([key]);
    }, timeout);

    it(`round-trips a ${Math.round(largeBytes / 1048576)} MiB stream with the same sha256`, async () => {
      const key = `${run}/large/big.bin`;
      const { stream, sha256 } = randomStream(largeBytes, 7);
      const { size } = await d.put(key, stream, { signal: new AbortController().signal });
      expect(size).toBe(largeBytes);
      const back = await sha256Of(await d.get(key));
      expect(back.size).toBe(largeBytes);
      expect(back.sha256).toBe(await sha256);
      const listed = [];
      for await (const o of d.list(`${run}/large/`)) listed.push(o);
      expect(listed).toHaveLength(1);
      expect(listed[0]!.size).toBe(largeBytes);
    }, timeout);

    it('lists every object under a prefix across pages, and nothing outside it', async () => {
      const keys = Array.from({ length: pagingObjects }, (_, i) => `${run}/paging/run-${String(i).padStart(3, '0')}/f.txt`);
      for (const key of keys) await put(d, key, key);
      await put(d, `${run}/paging-other/x.txt`, 'outside');
      expect(await listKeys(d, `${run}/paging/`)).toEqual(keys);
    }, timeout);

    it('leaves nothing behind when the stream fails half-way', async () => {
      const key = `${run}/atomic/failed.bin`;
      await expect(d.put(key, failingStream(2 * 1024 * 1024), { signal: new AbortController().signal })).rejects.toThrow();
      expect(await listKeys(d, `${run}/atomic/`)).toEqual([]);
      await expect(d.get(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
    }, timeout);

    it('leaves nothing behind when the put is aborted', async () => {
      const key = `${run}/aborted/aborted.bin`;
      const controller = new AbortController();
      const { stream } = randomStream(64 * 1024 * 1024, 3);
      setTimeout(() => controller.abort(new Error('source failed')), 150);
      await expect(d.put(key, stream, { signal: controller.signal })).rejects.toThrow();
      expect(await listKeys(d, `${run}/aborted/`)).toEqual([]);
    }, timeout);

    it('rejects get of a missing key with ObjectNotFoundError', async () => {
      await expect(d.get(`${run}/missing/nothing.bin`)).rejects.toBeInstanceOf(ObjectNotFoundError);
    }, timeout);

    it('deletes idempotently', async () => {
      const key = `${run}/delete/a.txt`;
      await put(d, key, 'x');
      await d.delete([key, `${run}/delete/never-existed.txt`]);
      await d.delete([key]);
      expect(await listKeys(d, `${run}/delete/`)).toEqual([]);
    }, timeout);

    it('applies retention over back-dated runs: exactly the expected runs go', async () => {
      const layout = new KeyLayout(`${run}/{id}/{timestamp}/{file}`, 'host');
      const now = new Date('2026-06-30T12:00:00Z');
      const days = [1, 2, 3, 10, 20, 40];
      for (const age of days) {
        const time = new Date(now.getTime() - age * 86_400_000);
        await put(d, layout.objectKey('db', time, 'db.sql.zst.gpg'), `dump ${age}`);
        await storeManifest(
          d,
          layout.manifestKey('db', time),
          {
            format: MANIFEST_FORMAT,
            tool: 'backup-runner',
            tool_version: 'test',
            source: { id: 'db', type: 'test' },
            hostname: 'host',
            run_id: `r${age}`,
            run_key: '',
            started_at: time.toISOString(),
            finished_at: time.toISOString(),
            complete: true,
            compression: 'zstd',
            encryption: 'openpgp-passphrase',
            files: [],
            warnings: [],
          },
          new AbortController().signal,
        );
      }
      // A neighbouring source whose id starts the same must never be touched.
      await put(d, layout.objectKey('db-old', new Date('2020-01-01T00:00:00Z'), 'db-old.sql.gpg'), 'other');

      const report = await applyRetention(d, layout, 'db', { copies: 4, days: 15 }, { now });
      expect(report.error).toBeUndefined();
      // copies=4 keeps ages 1,2,3,10; days=15 removes 20 and 40 anyway.
      expect(report.deleted.sort()).toEqual(
        [20, 40].map((age) => layout.parse(layout.objectKey('db', new Date(now.getTime() - age * 86_400_000), 'x'), 'db')!.runKey).sort(),
      );
      const left = await listKeys(d, `${run}/db/`);
      expect(left).toHaveLength(8);
      expect(await listKeys(d, `${run}/db-old/`)).toHaveLength(1);
    }, timeout);
  });
}
