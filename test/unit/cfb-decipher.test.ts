/**
 * CfbDecipher (ECB keystream XOR ciphertext) gives the same bytes as Node's own CFB decipher
 * for AES-128/192/256, however the ciphertext is split: 1-byte chunks, odd sizes, chunks up
 * to ~200 KiB, and subarrays at odd byteOffsets.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CfbDecipher } from '../../src/pipeline/cfb-decipher.js';
import { randomSizes, seededCase } from '../support/cfb-cases.js';

const CIPHERS = [
  { name: 'aes-128-cfb', keyBytes: 16 },
  { name: 'aes-192-cfb', keyBytes: 24 },
  { name: 'aes-256-cfb', keyBytes: 32 },
] as const;

function nodeDecrypt(name: string, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const d = createDecipheriv(name, key, iv);
  return Buffer.concat([d.update(data), d.final()]);
}

/** `data` decrypted by CfbDecipher in pieces of the given sizes (the last piece takes the rest). */
function ourDecrypt(name: string, key: Buffer, iv: Buffer, data: Buffer, sizes: readonly number[], shift: (i: number) => number): Buffer {
  const d = new CfbDecipher(name, key, iv);
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const size = Math.min(sizes[i % sizes.length] ?? data.length, data.length - at);
    // The piece as a subarray at byteOffset `shift(i)` of a larger buffer, as the reader hands them out.
    const offset = shift(i);
    const host = Buffer.alloc(offset + size + 3, 0xa5);
    data.copy(host, offset, at, at + size);
    const piece = host.subarray(offset, offset + size);
    const plain = d.update(piece);
    // Exactly the piece's length, and the input is not written to (checked without expect: thousands of pieces).
    if (plain.length !== size || host.readUIntBE(offset + size, 3) !== 0xa5a5a5) expect.fail(`piece ${i}: ${plain.length} bytes for ${size}, or the input was written to`);
    out.push(plain);
    at += size;
  }
  expect(d.final().length).toBe(0);
  // Concatenated only now: what an update returned must not change with later updates.
  return Buffer.concat(out);
}

describe('CfbDecipher', () => {
  for (const { name, keyBytes } of CIPHERS) {
    it(`matches createDecipheriv('${name}') on random chunk sizes and offsets`, () => {
      for (let round = 0; round < 4; round++) {
        const key = randomBytes(keyBytes);
        const iv = round === 0 ? Buffer.alloc(16) : randomBytes(16);
        const data = randomBytes(1_000_000 + Math.floor(Math.random() * 64));
        const sizes = randomSizes(40);
        const expected = nodeDecrypt(name, key, iv, data);
        const got = ourDecrypt(name, key, iv, data, sizes, () => Math.floor(Math.random() * 8));
        expect(got.equals(expected)).toBe(true);
      }
    });

    it(`round-trips with createCipheriv('${name}') byte by byte and in one piece`, () => {
      const key = randomBytes(keyBytes);
      const iv = randomBytes(16);
      const plain = randomBytes(4099);
      const c = createCipheriv(name, key, iv);
      const cipher = Buffer.concat([c.update(plain), c.final()]);
      expect(ourDecrypt(name, key, iv, cipher, [1], (i) => i % 5).equals(plain)).toBe(true);
      expect(ourDecrypt(name, key, iv, cipher, [cipher.length], () => 3).equals(plain)).toBe(true);
    });
  }

  it('gives an empty buffer for an empty chunk and refuses other ciphers, IV sizes and wrong key sizes', () => {
    const d = new CfbDecipher('aes-256-cfb', randomBytes(32), Buffer.alloc(16));
    expect(d.update(Buffer.alloc(0)).length).toBe(0);
    expect(() => new CfbDecipher('aes-256-cbc', randomBytes(32), Buffer.alloc(16))).toThrow(/unsupported/);
    expect(() => new CfbDecipher('aes-256-cfb', randomBytes(32), Buffer.alloc(8))).toThrow(/IV/);
    expect(() => new CfbDecipher('aes-256-cfb', randomBytes(16), Buffer.alloc(16))).toThrow();
  });

  it('matches createDecipheriv for any length, split and byteOffsets (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CIPHERS),
        fc.integer({ min: 0, max: 70_000 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 20_000 })), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 5 }),
        fc.integer(),
        ({ name, keyBytes }, length, sizes, offsets, seed) => {
          const { key, iv, data } = seededCase(keyBytes, length, seed);
          const got = ourDecrypt(name, key, iv, data, sizes, (i) => offsets[i % offsets.length] ?? 0);
          expect(got.equals(nodeDecrypt(name, key, iv, data))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
