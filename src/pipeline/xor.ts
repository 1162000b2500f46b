/**
 * XOR of one byte range into another, the step both CFB directions share (cfb-encipher.ts,
 * cfb-decipher.ts): OpenSSL computes the keystream, and the XOR with the data is ours.
 */

/**
 * dst[at + j] ^= src[j] for j < length: bytes up to a 4-byte boundary, then 32-bit words
 * (unrolled by 4: about twice as fast as one word per turn), then bytes. Words only when src
 * lines up with dst modulo 4, which both callers arrange; bytes throughout otherwise, never
 * reading past either view.
 */
export function xorInto(dst: Uint8Array, at: number, src: Uint8Array, length: number): void {
  let j = 0;
  const head = Math.min(length, (4 - ((dst.byteOffset + at) % 4)) % 4);
  for (; j < head; j++) dst[at + j] = dst[at + j]! ^ src[j]!;
  const words = (length - j) >> 2;
  if (words > 0 && (src.byteOffset + j) % 4 === 0) {
    const d = new Int32Array(dst.buffer, dst.byteOffset + at + j, words);
    const w = new Int32Array(src.buffer, src.byteOffset + j, words);
    const unrolled = words & ~3;
    let k = 0;
    for (; k < unrolled; k += 4) {
      d[k] = d[k]! ^ w[k]!;
      d[k + 1] = d[k + 1]! ^ w[k + 1]!;
      d[k + 2] = d[k + 2]! ^ w[k + 2]!;
      d[k + 3] = d[k + 3]! ^ w[k + 3]!;
    }
    for (; k < words; k++) d[k] = d[k]! ^ w[k]!;
    j += words * 4;
  }
  for (; j < length; j++) dst[at + j] = dst[at + j]! ^ src[j]!;
}
