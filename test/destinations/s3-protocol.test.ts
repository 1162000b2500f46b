/** The multipart uploader and part-size schedule shared by the s3 and minio destinations. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MultipartUploadError, uploadStream, type CompletedPart, type MultipartTarget } from '../../src/destinations/s3-protocol/multipart.js';
import { normalizePrefix } from '../../src/destinations/s3-protocol/common.js';
import {
  DEFAULT_FIRST_PART_MIB,
  MAX_OBJECT_BYTES,
  MAX_PARTS,
  MAX_PART_BYTES,
  MIB,
  MIN_PART_BYTES,
  capacityOf,
  partSizer,
} from '../../src/destinations/s3-protocol/part-size.js';
import { failingStream, randomStream } from '../support/destination-contract.js';

describe('part sizes', () => {
  it.each([5, DEFAULT_FIRST_PART_MIB, 64, 525, 5120])('a %i MiB first part: 5 TiB fits in 10,000 parts of 5 MiB..5 GiB', (first) => {
    const sizeOf = partSizer(first * MIB);
    expect(capacityOf(sizeOf, MAX_PARTS)).toBeGreaterThanOrEqual(MAX_OBJECT_BYTES);
    let smallest = Infinity;
    let largest = 0;
    let shrinks = 0;
    for (let n = 1; n <= MAX_PARTS; n++) {
      const size = sizeOf(n);
      smallest = Math.min(smallest, size);
      largest = Math.max(largest, size);
      if (n > 1 && size < sizeOf(n - 1)) shrinks += 1;
    }
    expect(smallest).toBeGreaterThanOrEqual(MIN_PART_BYTES);
    expect(largest).toBeLessThanOrEqual(MAX_PART_BYTES);
    expect(shrinks).toBe(0);
  });

  it('keeps parts small for ordinary sizes (default 16 MiB first part)', () => {
    const sizeOf = partSizer(DEFAULT_FIRST_PART_MIB * MIB);
    const partAt = (bytes: number) => {
      let total = 0;
      let n = 1;
      while (total + sizeOf(n) < bytes) total += sizeOf(n++);
      return sizeOf(n);
    };
    expect(partAt(10 * 1024 * MIB) / MIB).toBeLessThan(64);
    expect(partAt(100 * 1024 * MIB) / MIB).toBeLessThan(150);
    expect(sizeOf(MAX_PARTS) / MIB).toBeLessThan(1040);
  });

  it('refuses a first part below the S3 minimum', () => {
    expect(() => partSizer(4 * MIB)).toThrow(/between 5 MiB and 5 GiB/);
  });
});

describe('normalizePrefix', () => {
  it.each([
    [undefined, ''],
    ['', ''],
    ['/', ''],
    ['a', 'a/'],
    ['/a/b/', 'a/b/'],
  ])('%s -> %s', (input, output) => expect(normalizePrefix(input)).toBe(output));
});

/** A target that keeps everything in memory and records the calls. */
class MemoryTarget implements MultipartTarget {
  calls: string[] = [];
  parts = new Map<number, Buffer>();
  stored?: Buffer;
  inflight = 0;
  maxInflight = 0;
  failPart?: number;
  partDelayMs = 5;

  async putObject(body: Buffer) {
    this.calls.push(`put ${body.length}`);
    this.stored = body;
  }
  async createUpload() {
    this.calls.push('create');
    return 'u1';
  }
  async uploadPart(_id: string, n: number, body: Buffer, signal: AbortSignal) {
    this.inflight += 1;
    this.maxInflight = Math.max(this.maxInflight, this.inflight);
    try {
      await new Promise((r) => setTimeout(r, this.partDelayMs));
      signal.throwIfAborted();
      if (n === this.failPart) throw new Error(`part ${n} refused`);
      this.parts.set(n, body);
      this.calls.push(`part ${n} ${body.length}`);
      return `"e${n}"`;
    } finally {
      this.inflight -= 1;
    }
  }
  async completeUpload(_id: string, parts: CompletedPart[]) {
    this.calls.push(`complete ${parts.map((p) => p.partNumber).join(',')}`);
    this.stored = Buffer.concat(parts.map((p) => this.parts.get(p.partNumber)!));
  }
  async abortUpload() {
    this.calls.push('abort');
  }
  async deleteObject() {
    this.calls.push('delete');
    this.stored = undefined;
  }
}

const options = (signal = new AbortController().signal) => ({ firstPartBytes: 5 * MIB, concurrency: 2, signal });

describe('uploadStream', () => {
  it('stores a stream that fits in the first part with one PutObject (also exactly one part, and empty)', async () => {
    for (const size of [0, 1000, 5 * MIB]) {
      const target = new MemoryTarget();
      const result = await uploadStream(Readable.from([Buffer.alloc(size, 1)]), target, options());
      expect(result).toEqual({ size, parts: 0 });
      expect(target.calls).toEqual([`put ${size}`]);
    }
  });

  it('cuts parts by the schedule, keeps at most `concurrency` in flight, completes in order', async () => {
    const target = new MemoryTarget();
    const { stream } = randomStream(23 * MIB, 2);
    const sizeOf = partSizer(5 * MIB);
    const result = await uploadStream(stream, target, options());
    expect(result.size).toBe(23 * MIB);
    expect(target.maxInflight).toBeLessThanOrEqual(2);
    const partCalls = target.calls.filter((c) => c.startsWith('part')).sort((a, b) => Number(a.split(' ')[1]) - Number(b.split(' ')[1]));
    expect(partCalls).toEqual([
      `part 1 ${sizeOf(1)}`,
      `part 2 ${sizeOf(2)}`,
      `part 3 ${sizeOf(3)}`,
      `part 4 ${sizeOf(4)}`,
      `part 5 ${23 * MIB - sizeOf(1) - sizeOf(2) - sizeOf(3) - sizeOf(4)}`,
    ]);
    expect(target.calls.at(-1)).toBe('complete 1,2,3,4,5');
    expect(target.stored!.length).toBe(23 * MIB);
  });

  it('a failing part aborts the upload and stops reading', async () => {
    const target = new MemoryTarget();
    target.failPart = 2;
    let read = 0;
    const stream = new Readable({
      read() {
        read += MIB;
        this.push(read > 200 * MIB ? null : Buffer.alloc(MIB));
      },
    });
    const error = await uploadStream(stream, target, options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MultipartUploadError);
    expect((error as MultipartUploadError).origin).toBe('service');
    expect((error as Error).message).toBe('part 2 refused');
    expect(target.calls).toContain('abort');
    expect(target.calls.some((c) => c.startsWith('complete'))).toBe(false);
    expect(read).toBeLessThan(40 * MIB);
  });

  it('a failing stream aborts the upload; the origin says it was the stream', async () => {
    const target = new MemoryTarget();
    const error = (await uploadStream(failingStream(12 * MIB), target, options()).catch((e: unknown) => e)) as MultipartUploadError;
    expect(error.origin).toBe('stream');
    expect(error.message).toMatch(/source failed mid-stream/);
    expect(target.calls).toContain('abort');
    expect(target.stored).toBeUndefined();
  });

  it('an abort that arrives while the final request is under way deletes the object again', async () => {
    const target = new MemoryTarget();
    const controller = new AbortController();
    target.putObject = async (body: Buffer) => {
      target.stored = body;
      target.calls.push('put');
      controller.abort(new Error('dump failed after its last byte'));
    };
    const error = (await uploadStream(Readable.from([Buffer.from('abc')]), target, options(controller.signal)).catch((e: unknown) => e)) as MultipartUploadError;
    expect(error.origin).toBe('abort');
    expect(error.message).toBe('upload aborted (dump failed after its last byte)');
    expect(target.calls).toEqual(['put', 'delete']);
    expect(target.stored).toBeUndefined();
  });

  it('reports what could not be cleaned up', async () => {
    const target = new MemoryTarget();
    target.abortUpload = async () => {
      throw new Error('connection reset');
    };
    const error = (await uploadStream(failingStream(12 * MIB), target, options()).catch((e: unknown) => e)) as MultipartUploadError;
    expect(error.leftovers).toEqual([expect.stringMatching(/incomplete multipart upload u1 could not be aborted \(connection reset\)/)]);
  });
});
