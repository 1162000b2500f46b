/**
 * The destination contract, written once and run by every destination's test file:
 *
 *   describeDestinationContract('local', async () => ({ destination, cleanup }));
 *
 * It checks what the pipeline, retention and restore rely on: sha256 round trip (small and
 * large streams), listing across pages and only under the prefix, atomic put (a failing or
 * aborted stream leaves nothing listed), missing keys, idempotent delete, retention over
 * back-dated runs, and a crash: a put in another process killed with SIGKILL mid-stream leaves
 * nothing `list` returns, and `listPartial`/`removePartial` (where the destination has them)
 * find and remove what it left.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination, PartialUpload } from '../../src/destinations/types.js';
import { ObjectNotFoundError } from '../../src/errors.js';
import { KeyLayout } from '../../src/pipeline/keys.js';
import { applyRetention } from '../../src/pipeline/retention.js';
import { MANIFEST_FORMAT, storeManifest } from '../../src/pipeline/manifest.js';
import { sweepPartials, sweepTempFolders } from '../../src/pipeline/sweep.js';

export interface ContractSubject {
  destination: Destination;
  cleanup?: () => Promise<void>;
  /**
   * The same destination as job-file options, for the crash test's child process
   * (test/support/crash-put.mjs creates it from the built dist/). The servers must be
   * reachable from another process (loopback ports, files): every fake here is. Required: no
   * destination leaves the crash section out.
   */
  spawn: { type: string; options: Record<string, unknown> };
}

export interface ContractOptions {
  /** Bytes of the large round trip (default 50 MB, as the destinations issue asks). */
  largeBytes?: number;
  /** How many objects the paging test stores; set it above the fake's page size. */
  pagingObjects?: number;
  /** Per-test timeout for slow protocols. */
  timeoutMs?: number;
  /**
   * Bytes the crash test's child must have handed to the put before it is killed, for
   * destinations without `listPartial` (with it, the kill waits until the partial upload is
   * visible). Default 8 MiB.
   */
  crashAfterBytes?: number;
  /**
   * Why an interrupted put leaves nothing to sweep on this destination (the service discards
   * unfinished uploads by itself; its README says so). Without it the destination must
   * implement listPartial and removePartial.
   */
  noPartialUploads?: string;
  /** The destination keeps a credentials file in a temp folder of its own (samba's smbclient -A file). */
  credentialsInTempFolder?: boolean;
}

const CRASH_PUT = fileURLToPath(new URL('./crash-put.mjs', import.meta.url));

/** Polls `probe` until it returns a value other than undefined; fails after `ms`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

export async function listPartials(destination: Destination, prefix: string): Promise<PartialUpload[]> {
  const found: PartialUpload[] = [];
  for await (const partial of destination.listPartial?.(prefix) ?? []) found.push(partial);
  return found;
}

/**
 * Starts crash-put.mjs putting an endless stream into `key`; resolves once `flowing` says
 * enough went in, with the child's pid and a kill() that SIGKILLs it and waits for its end.
 */
async function startCrashingPut(spec: NonNullable<ContractSubject['spawn']>, key: string, flowing: (consumed: number) => Promise<boolean>) {
  const child = spawn(process.execPath, [CRASH_PUT, JSON.stringify({ ...spec, key })], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  let consumed = 0;
  let failed: string | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    consumed = (JSON.parse(line) as { consumed?: number }).consumed ?? consumed;
  });
  void exited.then(() => (failed = `the put process ended by itself: ${stderr.trim() || 'no message'}`));
  await waitFor('bytes flowing into the destination', async () => {
    if (failed) throw new Error(failed);
    return (await flowing(consumed)) ? true : undefined;
  });
  return {
    pid: child.pid!,
    async kill() {
      failed = 'killed';
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Temp folders in the system temp folder named by makeRunTempDir for process `pid`. */
async function tempFoldersOf(pid: number): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('backup-runner-') && new RegExp(`-${pid}-\\d+-[0-9a-f]{12}-\\w{6}$`).test(name));
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

/**
 * A stream for the abort path that cannot race the put: it supplies data until the destination
 * has read `abortAfter` bytes, then supplies nothing more and aborts `controller` (on the next
 * turn of the event loop, outside the destination's read). Only after the abort does it go on:
 * a destination that ignores the signal gets the rest of `total` bytes and the end, so its put
 * completes and the test fails at once instead of hanging.
 */
export function abortingStream(controller: AbortController, reason: Error, abortAfter = 1024 * 1024, total = 16 * 1024 * 1024): Readable {
  const chunk = randomBytes(64 * 1024);
  let read = 0;
  let waiting = false;
  const next = (stream: Readable) => {
    const size = Math.min(chunk.length, total - read);
    read += size;
    stream.push(size > 0 ? chunk.subarray(0, size) : null);
  };
  const stream = new Readable({
    read() {
      if (read < abortAfter || controller.signal.aborted) return next(this);
      if (waiting) return;
      waiting = true;
      setImmediate(() => {
        controller.abort(reason);
        if (!stream.destroyed) next(stream);
      });
    },
  });
  return stream;
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
  const crashAfterBytes = options.crashAfterBytes ?? 8 * 1024 * 1024;

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
      const stream = abortingStream(controller, new Error('source failed'));
      await expect(d.put(key, stream, { signal: controller.signal })).rejects.toThrow();
      expect(controller.signal.aborted).toBe(true);
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
        const time = { time: new Date(now.getTime() - age * 86_400_000), seq: 1 };
        const body = `dump ${age}`;
        await put(d, layout.objectKey('db', time, 'db.sql.zst.gpg'), body);
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
            started_at: time.time.toISOString(),
            finished_at: time.time.toISOString(),
            complete: true,
            compression: 'zstd',
            encryption: 'openpgp-passphrase',
            files: [{ file: 'db.sql.zst.gpg', name: 'db.sql', size: Buffer.byteLength(body), sha256: createHash('sha256').update(body).digest('hex') }],
            warnings: [],
          },
          new AbortController().signal,
        );
      }
      // A neighbouring source whose id starts the same must never be touched.
      await put(d, layout.objectKey('db-old', { time: new Date('2020-01-01T00:00:00Z'), seq: 1 }, 'db-old.sql.gpg'), 'other');

      const report = await applyRetention(d, layout, 'db', { copies: 4, days: 15 }, { now, owner: { hostname: 'host' } });
      expect(report.error).toBeUndefined();
      // copies=4 keeps ages 1,2,3,10; days=15 removes 20 and 40 anyway.
      expect(report.deleted.sort()).toEqual(
        [20, 40].map((age) => layout.parse(layout.objectKey('db', { time: new Date(now.getTime() - age * 86_400_000), seq: 1 }, 'x'), 'db')!.runKey).sort(),
      );
      const left = await listKeys(d, `${run}/db/`);
      expect(left).toHaveLength(8);
      expect(await listKeys(d, `${run}/db-old/`)).toHaveLength(1);
    }, timeout);
    it('a put killed with SIGKILL mid-stream leaves nothing listed; its leftovers are found and swept', async () => {
      const prefix = `${run}/crash/`;
      const key = `${prefix}20260101000000/db.sql.zst.gpg`;
      const hasPartials = options.noPartialUploads === undefined;
      if (hasPartials) {
        expect(d.listPartial, 'listPartial (or the contract option noPartialUploads)').toBeTypeOf('function');
        expect(d.removePartial, 'removePartial (or the contract option noPartialUploads)').toBeTypeOf('function');
      }
      // With listPartial the kill waits for the leftover to exist; else for bytes taken in.
      const crashed = await startCrashingPut(subject.spawn, key, async (consumed) =>
        hasPartials ? (await listPartials(d, prefix)).some((p) => p.key === key) : consumed >= crashAfterBytes,
      );
      // Taken while the process lives (any run on this machine may sweep them once it is dead).
      const itsTempFolders = await tempFoldersOf(crashed.pid);
      await crashed.kill();

      expect(await listKeys(d, prefix)).toEqual([]);
      await expect(d.get(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
      if (hasPartials) {
        const found = await listPartials(d, prefix);
        expect(found.map((p) => p.key)).toContain(key);
        expect(await listPartials(d, `${run}/crash-other/`)).toEqual([]);
        // A helper of the dead process (smbclient) may still be finishing its write: sweep until none is left.
        const swept = await waitFor('the partial upload to be swept', async () => {
          const removed = await sweepPartials(d, prefix, () => true).catch(() => []);
          return removed.length > 0 && (await listPartials(d, prefix)).length === 0 ? removed : undefined;
        });
        expect(swept.map((s) => s.kind)).toContain('partial upload');
      }
      // Credentials files the dead process kept in its temp folders go with the next sweep.
      if (options.credentialsInTempFolder) expect(itsTempFolders).not.toEqual([]);
      await sweepTempFolders(tmpdir());
      expect(await tempFoldersOf(crashed.pid)).toEqual([]);

      // The destination works as before, at the same key.
      await put(d, key, 'after the crash');
      expect(await listKeys(d, prefix)).toEqual([key]);
      expect(await listPartials(d, prefix)).toEqual([]);
    }, timeout);
  });
}
