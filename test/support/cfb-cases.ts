/** What the CFB encipher and decipher tests share: chunk sizes and replayable data. */
import { createCipheriv } from 'node:crypto';

/** Random sizes from 1 byte to ~200 KiB, weighted towards the small and the odd. */
export function randomSizes(count: number): number[] {
  return Array.from({ length: count }, () => {
    const kind = Math.random();
    if (kind < 0.3) return 1 + Math.floor(Math.random() * 17);
    if (kind < 0.6) return 1 + Math.floor(Math.random() * 4099);
    return 1 + Math.floor(Math.random() * 200 * 1024);
  });
}

/** A key, an IV and `length` pseudo-random octets (AES-CTR of zeros), all from `seed`, so that a failure replays. */
export function seededCase(keyBytes: number, length: number, seed: number): { key: Buffer; iv: Buffer; data: Buffer } {
  const key = Buffer.alloc(keyBytes, seed & 0xff);
  key.writeInt32LE(seed);
  const iv = Buffer.alloc(16, (seed >>> 8) & 0xff);
  const data = createCipheriv('aes-128-ctr', Buffer.alloc(16, seed & 0xff), iv).update(Buffer.alloc(length));
  return { key, iv, data };
}
