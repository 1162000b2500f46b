/**
 * CfbEncipher (CBC keystream XOR plaintext) gives the same bytes as Node's own CFB cipher for
 * AES-128/192/256, however the plaintext is split: into calls of 1 byte to ~200 KiB, each call
 * a list of parts (views at odd byteOffsets, empty parts), blocks split across calls.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CfbEncipher } from '../../src/pipeline/cfb-encipher.js';
import { randomSizes, seededCase } from '../support/cfb-cases.js';

const KEY_BYTES = [16, 24, 32] as const;
const cfbName = (keyBytes: number) => `aes-${keyBytes * 8}-cfb`;

function nodeEncrypt(keyBytes: number, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const c = createCipheriv(cfbName(keyBytes), key, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

/**
 * `data` encrypted by CfbEncipher: call i takes sizes[i] octets (the last call the rest), cut
 * into `partsPerCall` parts, each a subarray at byteOffset shift(j) of a larger buffer.
 */
function ourEncrypt(key: Buffer, iv: Buffer, data: Buffer, sizes: readonly number[], partsPerCall: number, shift: (j: number) => number): Buffer {
  const e = new CfbEncipher(key, iv);
  const out: Uint8Array[] = [];
  let at = 0;
  let j = 0;
  for (let i = 0; at < data.length; i++) {
    const size = Math.min(sizes[i % sizes.length] ?? data.length, data.length - at);
    const parts: Uint8Array[] = [];
    const hosts: { host: Buffer; offset: number; length: number }[] = [];
    for (let p = 0; p < partsPerCall; p++) {
      const length = p === partsPerCall - 1 ? size - parts.reduce((s, x) => s + x.length, 0) : Math.floor(size / partsPerCall);
      const offset = shift(j++);
      const host = Buffer.alloc(offset + length + 3, 0xa5);
      data.copy(host, offset, at, at + length);
      at += length;
      parts.push(host.subarray(offset, offset + length));
      hosts.push({ host, offset, length });
    }
    const before = parts.map((part) => Buffer.from(part));
    const cipher = e.update(parts);
    const got = cipher.reduce((s, x) => s + x.length, 0);
    // Exactly the call's length, fresh buffers of their own (transferable), the input untouched
    // (checked without expect: thousands of calls).
    if (got !== size) expect.fail(`call ${i}: ${got} octets for ${size}`);
    if (cipher.some((c) => c.byteOffset !== 0 || c.byteLength !== c.buffer.byteLength)) expect.fail(`call ${i}: a view, not a buffer of its own`);
    hosts.forEach(({ host, offset, length }, p) => {
      if (host.readUIntBE(offset + length, 3) !== 0xa5a5a5 || !host.subarray(offset, offset + length).equals(before[p]!)) expect.fail(`call ${i}: the input was written to`);
    });
    out.push(...cipher);
  }
  // Concatenated only now: what an update returned must not change with later updates.
  return Buffer.concat(out);
}

describe('CfbEncipher', () => {
  for (const keyBytes of KEY_BYTES) {
    it(`matches createCipheriv('${cfbName(keyBytes)}') on random call sizes, parts and offsets`, () => {
      for (let round = 0; round < 4; round++) {
        const key = randomBytes(keyBytes);
        const iv = round === 0 ? Buffer.alloc(16) : randomBytes(16);
        const data = randomBytes(1_000_000 + Math.floor(Math.random() * 64));
        const expected = nodeEncrypt(keyBytes, key, iv, data);
        const got = ourEncrypt(key, iv, data, randomSizes(40), 1 + (round % 3), () => Math.floor(Math.random() * 8));
        expect(got.equals(expected)).toBe(true);
      }
    });

    it(`matches createCipheriv('${cfbName(keyBytes)}') byte by byte and in one piece`, () => {
      const key = randomBytes(keyBytes);
      const iv = randomBytes(16);
      const plain = randomBytes(4099);
      const expected = nodeEncrypt(keyBytes, key, iv, plain);
      expect(ourEncrypt(key, iv, plain, [1], 1, (j) => j % 5).equals(expected)).toBe(true);
      expect(ourEncrypt(key, iv, plain, [plain.length], 1, () => 3).equals(expected)).toBe(true);
      expect(ourEncrypt(key, iv, plain, [15, 17, 16, 1, 31, 33], 2, (j) => j % 3).equals(expected)).toBe(true);
    });
  }

  it('gives nothing for no input or empty parts, and refuses other key and IV sizes', () => {
    const e = new CfbEncipher(randomBytes(32), Buffer.alloc(16));
    expect(e.update([])).toEqual([]);
    expect(e.update([Buffer.alloc(0), Buffer.alloc(0)])).toEqual([]);
    expect(() => new CfbEncipher(randomBytes(32), Buffer.alloc(8))).toThrow(/IV/);
    expect(() => new CfbEncipher(randomBytes(20), Buffer.alloc(16))).toThrow(/16, 24 or 32/);
  });

  it('matches createCipheriv for any length, split, parts and byteOffsets (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KEY_BYTES),
        fc.integer({ min: 0, max: 70_000 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 20_000 })), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 5 }),
        fc.integer(),
        (keyBytes, length, sizes, partsPerCall, offsets, seed) => {
          const { key, iv, data } = seededCase(keyBytes, length, seed);
          const got = ourEncrypt(key, iv, data, sizes, partsPerCall, (j) => offsets[j % offsets.length] ?? 0);
          expect(got.equals(nodeEncrypt(keyBytes, key, iv, data))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
