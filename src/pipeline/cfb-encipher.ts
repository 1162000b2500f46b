/**
 * AES in CFB mode (CFB128, what OpenPGP's data packets use), encryption only, faster than
 * `createCipheriv('aes-256-cfb', …)`.
 *
 * CFB encryption is serial: ciphertext block i = plaintext block i XOR K_i, where the keystream
 * block K_i = E_K(ciphertext block i-1), and K_0 = E_K(IV). OpenSSL runs it one block per call
 * of the block function; its CBC encryption is the same chain in one tight loop. CBC over the
 * plaintext gives exactly that keystream, one block ahead:
 *
 *   CBC with IV = K_0:  O_i = E_K(P_i XOR O_(i-1)),  O_(-1) = K_0
 *   so O_0 = E_K(P_0 XOR K_0) = E_K(C_0) = K_1, and by induction O_i = K_(i+1).
 *
 * So ciphertext = plaintext XOR (K_0, O_0, O_1, ...): the CBC output shifted by one block, XORed
 * in. Measured here: the encryption takes about 40% less CPU than OpenSSL's CFB (AES-256, 1 MiB
 * pieces), 15-20% less with the copy and the XOR counted.
 *
 * CBC is fed whole plaintext blocks only. A block split across calls is encrypted byte by byte
 * with the keystream block already known and fed to CBC once it is complete, so `update`
 * returns exactly as many octets as it was given, like a stream cipher.
 */
import { createCipheriv, type Cipher } from 'node:crypto';
import { xorInto } from './xor.js';

const BLOCK = 16;
/** CBC and XOR go through the whole blocks this many octets at a time (a multiple of BLOCK). */
const SLICE = 128 << 10;
const CBC_FOR_KEY_BYTES: Record<number, string> = { 16: 'aes-128-cbc', 24: 'aes-192-cbc', 32: 'aes-256-cbc' };

export class CfbEncipher {
  private readonly cbc: Cipher;
  /** The keystream block of the block the next plaintext byte falls in. */
  private keystream: Uint8Array;
  /** The current block's plaintext so far (its first `used` octets), for CBC once it is whole. */
  private readonly block = new Uint8Array(BLOCK);
  private used = 0;

  constructor(key: Uint8Array, iv: Uint8Array) {
    const name = CBC_FOR_KEY_BYTES[key.length];
    if (!name) throw new Error('CfbEncipher: AES keys are 16, 24 or 32 bytes');
    if (iv.length !== BLOCK) throw new Error('CfbEncipher: the IV must be 16 bytes');
    // A zero IV and IV as the first input: the first output is E_K(IV) = K_0, and CBC's chain
    // then continues from K_0, as the derivation above needs.
    this.cbc = createCipheriv(name, key, Buffer.alloc(BLOCK)).setAutoPadding(false);
    this.keystream = this.cbc.update(iv);
  }

  /**
   * The ciphertext of `parts` (taken as one run of octets), exactly as long: at most three
   * buffers (the rest of a block begun earlier, the whole blocks, the start of the next block),
   * each a fresh allocation of its own that the caller may keep or transfer.
   */
  update(parts: readonly Uint8Array[]): Uint8Array[] {
    const input = new PartsReader(parts);
    const out: Uint8Array[] = [];
    if (this.used > 0 && input.left > 0) {
      const n = Math.min(BLOCK - this.used, input.left);
      const head = input.take(n);
      this.block.set(head, this.used);
      xorInto(head, 0, this.keystream.subarray(this.used), n);
      this.used += n;
      if (this.used === BLOCK) this.nextBlock();
      out.push(head);
    }
    const whole = input.left & ~(BLOCK - 1);
    if (whole > 0) {
      const data = input.take(whole);
      // Slice by slice, so that the plaintext and its CBC output are still in the cache for the XOR.
      for (let at = 0; at < whole; at += SLICE) {
        const end = Math.min(at + SLICE, whole);
        // CBC of the plaintext: the keystream of every block after the slice's first.
        const ahead = this.cbc.update(data.subarray(at, end));
        xorInto(data, at, this.keystream, BLOCK);
        xorInto(data, at + BLOCK, ahead, end - at - BLOCK);
        this.keystream = ahead.slice(end - at - BLOCK); // a copy: the rest of `ahead` is garbage now
      }
      out.push(data);
    }
    if (input.left > 0) {
      const tail = input.take(input.left);
      this.block.set(tail, 0);
      this.used = tail.length;
      xorInto(tail, 0, this.keystream, tail.length);
      out.push(tail);
    }
    return out;
  }

  /** The current block is complete: its plaintext through CBC gives the next keystream block. */
  private nextBlock(): void {
    this.keystream = this.cbc.update(this.block);
    this.used = 0;
  }
}

/** Reads a list of chunks as one run of octets, each `take` into a new buffer of its own. */
class PartsReader {
  private index = 0;
  private offset = 0;
  left: number;

  constructor(private readonly parts: readonly Uint8Array[]) {
    this.left = parts.reduce((sum, part) => sum + part.length, 0);
  }

  take(n: number): Uint8Array {
    // allocUnsafeSlow: memory of its own (never a slice of Node's shared pool), so the result
    // can be transferred to another thread; every octet is written below.
    const into = Buffer.allocUnsafeSlow(n);
    let at = 0;
    while (at < n) {
      const part = this.parts[this.index]!;
      const count = Math.min(n - at, part.length - this.offset);
      into.set(part.subarray(this.offset, this.offset + count), at);
      at += count;
      this.offset += count;
      if (this.offset === part.length) {
        this.index++;
        this.offset = 0;
      }
    }
    this.left -= n;
    return into;
  }
}
