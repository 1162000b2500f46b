/**
 * AES in CFB mode (CFB128, what OpenPGP's data packets use), decryption only, faster than
 * `createDecipheriv('aes-256-cfb', …)`.
 *
 * OpenSSL decrypts CFB one block per call, although nothing in CFB decryption waits for an
 * earlier result: plaintext block i = ciphertext block i XOR E_K(ciphertext block i-1), with
 * E_K(IV) for the first. So with S = IV ‖ ciphertext, the keystream block i is E_K(S block i):
 * the ECB *encryption* of S, which OpenSSL computes many blocks at a time (the pipelined AES-NI
 * loop), and the plaintext is the ciphertext XOR that keystream.
 */
import { createCipheriv, type Cipher } from 'node:crypto';
import { xorInto } from './xor.js';

/** The ECB cipher that gives the keystream of each CFB cipher name `createDecipheriv` takes. */
const ECB_FOR_CFB: Record<string, string> = { 'aes-128-cfb': 'aes-128-ecb', 'aes-192-cfb': 'aes-192-ecb', 'aes-256-cfb': 'aes-256-ecb' };
const BLOCK = 16;

/** A drop-in for `createDecipheriv(name, key, iv)` with name `aes-{128,192,256}-cfb`: `update` per chunk, `final` at the end. */
export class CfbDecipher {
  private readonly ecb: Cipher;
  /**
   * The chunk is copied in here after the tail of S that the next keystream block needs; reused
   * across calls (it is input only), so it grows to the largest chunk plus 31 bytes.
   */
  private scratch = Buffer.allocUnsafeSlow(4096);
  /**
   * scratch[0, tail): S from the start of the block the next ciphertext byte falls in, less
   * one block: the previous block (16 bytes, the IV at first), then the bytes of the current
   * block so far (0 to 15).
   */
  private tail = BLOCK;
  private finished = false;

  constructor(cfbName: string, key: Uint8Array, iv: Uint8Array) {
    const ecbName = ECB_FOR_CFB[cfbName];
    if (!ecbName) throw new Error(`CfbDecipher: unsupported cipher ${cfbName}`);
    if (iv.length !== BLOCK) throw new Error('CfbDecipher: the IV must be 16 bytes');
    this.ecb = createCipheriv(ecbName, key, null).setAutoPadding(false);
    this.scratch.set(iv);
  }

  /** The plaintext of `chunk`: exactly chunk.length bytes, whatever the chunk's size or offset. */
  update(chunk: Uint8Array): Buffer {
    if (this.finished) throw new Error('CfbDecipher: update after final');
    const n = chunk.length;
    if (n === 0) return Buffer.alloc(0);
    const tail = this.tail;
    const into = tail - BLOCK; // how far into its block the chunk starts
    const end = tail + n;
    if (end > this.scratch.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(end, 2 * this.scratch.length));
      this.scratch.copy(grown, 0, 0, tail);
      this.scratch = grown;
    }
    const scratch = this.scratch;
    scratch.set(chunk, tail);
    // Every whole block of S from the previous one on: the keystream from the start of the
    // chunk's first block to past its last byte, in one buffer that becomes the output (the
    // block a chunk boundary falls in is encrypted twice, once for each side). ECB is fed whole
    // blocks only, so it never holds bytes back between calls.
    const keystream = this.ecb.update(scratch.subarray(0, end & ~(BLOCK - 1)));
    xorInto(keystream, into, scratch.subarray(tail, end), n);
    // Keep the block before the one the next chunk starts in, and that block's bytes so far.
    const from = end - BLOCK - ((into + n) % BLOCK);
    scratch.copy(scratch, 0, from, end); // may overlap: copy is a memmove
    this.tail = end - from;
    return keystream.subarray(into, into + n);
  }

  /** Nothing: CFB has no padding, and every update returned all its plaintext. */
  final(): Buffer {
    this.finished = true;
    return Buffer.alloc(0);
  }
}
