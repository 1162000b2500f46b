/**
 * The bulk of OpenPGP encryption with Node's native crypto (OpenSSL, AES-NI): a Symmetrically
 * Encrypted Integrity Protected Data packet, version 1 (RFC 4880 §5.13), around a Literal Data
 * packet (§5.9), as `gpg --symmetric --compress-algo none` writes it and GnuPG 2.2 and
 * openpgp.js read it. The session-key packets in front of it (SKESK for a passphrase, PKESK
 * for recipients) are openpgp-session.ts's.
 *
 * Layout (every length unknown in advance, so both packets use partial body lengths, §4.2.2.4:
 * pieces of 2^k octets, the first at least 512, the last one a definite length):
 *
 *   0xD2 (new format, tag 18) · lengths · 0x01 (version) · CFB(K, IV=0,
 *       prefix (16 random octets, the last two repeated)
 *       · 0xCB (tag 11) · lengths · 'b' · 0 (no file name) · date (4 octets) · data
 *       · 0xD3 0x14 · SHA-1(prefix · literal packet · 0xD3 0x14))
 *
 * OpenPGP's CFB for SEIPD is plain CFB-128 with a zero IV (no resynchronisation, §5.13), the
 * same as OpenSSL's `aes-256-cfb`, here computed through CBC (cfb-encipher.ts). The MDC packet
 * (§5.14) is encrypted in the same stream.
 *
 * The encryptor is synchronous and allocation-light: each output buffer is a fresh header or a
 * fresh buffer of ciphertext (owning its ArrayBuffer, so it can be transferred between
 * threads), never a view into memory the encryptor still uses. Adjacent small outputs (a
 * piece's header, the ends of a CFB block split between pieces) come as one buffer: each chunk
 * costs every stage downstream a turn. The input is never written to.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { ByteQueue } from '../lib/byte-queue.js';
import { CfbEncipher } from './cfb-encipher.js';

export const SESSION_KEY_BYTES = 32;
const BLOCK = 16;
const TAG_SEIPD = 18;
const TAG_LITERAL = 11;
const TAG_MDC = 19;
/** Adjacent output chunks shorter than this are joined into one. */
const SMALL = 256;
/** 1 MiB pieces: few headers, and a piece's ciphertext is one message between threads. */
export const DEFAULT_PIECE_LOG2 = 20;

/** A new-format packet tag octet (§4.2). */
export const newTag = (tag: number): number => 0xc0 | tag;

/** A new-format definite length (§4.2.2.1-3). */
export function definiteLength(n: number): number[] {
  if (n < 192) return [n];
  if (n < 8384) return [((n - 192) >> 8) + 192, (n - 192) & 0xff];
  return [0xff, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

export interface SeipdOptions {
  /** log2 of the partial body piece size, 9 (512 octets) to 30; default 20 (1 MiB). */
  pieceLog2?: number;
  /** The literal packet's date; default now. */
  date?: Date;
}

/**
 * Streaming SEIPD v1 encryptor. `update` and `final` return the output octets in order, as a
 * list of buffers (headers and ciphertext).
 */
export class SeipdEncryptor {
  private readonly cipher: CfbEncipher;
  private readonly sha1: Hash;
  private readonly piece: number;
  private readonly pieceByte: number;
  /** Literal packet body not yet framed. */
  private readonly literal = new ByteQueue();
  private literalStarted = false;
  /** Plaintext of the encrypted stream (prefix, literal packet, MDC) not yet encrypted. */
  private readonly plain = new ByteQueue();
  private seipdStarted = false;
  private finished = false;

  constructor(sessionKey: Uint8Array, options: SeipdOptions = {}) {
    if (sessionKey.length !== SESSION_KEY_BYTES) throw new Error('AES-256 needs a 32-byte session key');
    const log2 = options.pieceLog2 ?? DEFAULT_PIECE_LOG2;
    if (!Number.isInteger(log2) || log2 < 9 || log2 > 30) throw new Error('partial body pieces must be 2^9 to 2^30 octets');
    this.piece = 2 ** log2;
    this.pieceByte = 224 + log2;
    this.cipher = new CfbEncipher(sessionKey, new Uint8Array(BLOCK));
    this.sha1 = createHash('sha1');
    const prefix = randomBytes(BLOCK + 2);
    prefix[BLOCK] = prefix[BLOCK - 2]!;
    prefix[BLOCK + 1] = prefix[BLOCK - 1]!;
    this.queuePlain(prefix);
    const seconds = Math.floor((options.date ?? new Date()).getTime() / 1000);
    // Literal body: format 'b' (binary), no file name, the date.
    this.literal.push(Uint8Array.of(0x62, 0, (seconds >>> 24) & 0xff, (seconds >>> 16) & 0xff, (seconds >>> 8) & 0xff, seconds & 0xff));
  }

  update(data: Uint8Array): Uint8Array[] {
    if (this.finished) throw new Error('encryptor already finished');
    this.literal.push(data);
    // A piece is framed only when more follows it: the last piece is always a definite length ≥ 1.
    while (this.literal.bytes > this.piece) {
      const header = this.literalStarted ? [this.pieceByte] : [newTag(TAG_LITERAL), this.pieceByte];
      this.literalStarted = true;
      this.queuePlain(Uint8Array.from(header));
      for (const part of this.literal.take(this.piece)) this.queuePlain(part);
    }
    return coalesce(this.encryptPieces());
  }

  final(): Uint8Array[] {
    if (this.finished) throw new Error('encryptor already finished');
    this.finished = true;
    const rest = this.literal.bytes;
    this.queuePlain(Uint8Array.from(this.literalStarted ? definiteLength(rest) : [newTag(TAG_LITERAL), ...definiteLength(rest)]));
    for (const part of this.literal.takeAll()) this.queuePlain(part);
    this.queuePlain(Uint8Array.of(newTag(TAG_MDC), 20));
    this.plain.push(this.sha1.digest());
    const out = this.encryptPieces();
    const body = this.plain.bytes + (this.seipdStarted ? 0 : 1);
    const header = this.seipdStarted ? definiteLength(body) : [newTag(TAG_SEIPD), ...definiteLength(body), 1];
    out.push(Uint8Array.from(header), ...this.cipher.update(this.plain.takeAll()));
    return coalesce(out);
  }

  private queuePlain(part: Uint8Array): void {
    this.sha1.update(part);
    this.plain.push(part);
  }

  /** Encrypts whole SEIPD pieces while more plaintext than a piece is waiting. */
  private encryptPieces(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (;;) {
      // The first piece starts with the version octet, which is not encrypted.
      const room = this.seipdStarted ? this.piece : this.piece - 1;
      if (this.plain.bytes <= room) return out;
      out.push(Uint8Array.from(this.seipdStarted ? [this.pieceByte] : [newTag(TAG_SEIPD), this.pieceByte, 1]));
      this.seipdStarted = true;
      out.push(...this.cipher.update(this.plain.take(room)));
    }
  }
}

/** `chunks` with each run of adjacent small ones joined into a new buffer of its own. */
function coalesce(chunks: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  const endRun = () => {
    if (run.length > 1) {
      const joined = new Uint8Array(run.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of run) {
        joined.set(c, at);
        at += c.length;
      }
      out.push(joined);
    } else out.push(...run);
    run = [];
  };
  for (const chunk of chunks) {
    if (chunk.length < SMALL) run.push(chunk);
    else {
      endRun();
      out.push(chunk);
    }
  }
  endRun();
  return out;
}

/** The buffers of `chunks` that can be transferred between threads: whole, distinct ArrayBuffers. */
export function transferable(chunks: readonly Uint8Array[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const c of chunks) {
    const buffer = c.buffer;
    if (buffer instanceof ArrayBuffer && c.byteOffset === 0 && c.byteLength === buffer.byteLength && c.byteLength > 0) seen.add(buffer);
  }
  return [...seen];
}
