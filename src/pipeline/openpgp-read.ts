/**
 * Reading OpenPGP messages with Node's native crypto for the bulk: a passphrase's SKESK
 * packets are opened natively (openpgp-session.ts), PKESK packets and unusual S2K kinds by
 * openpgp.js; the SEIPD v1 packet (RFC 4880 §5.13) with AES
 * CFB natively, its MDC (§5.14) checked at the end, the Literal Data packet inside it unwrapped.
 * Anything else (a compressed packet inside, as gpg writes by default; signatures; SED without
 * MDC; AEAD; a cipher other than AES) goes to openpgp.js whole: the bytes read while deciding
 * are replayed to it.
 *
 * Like openpgp.js with `allowUnauthenticatedStream`, plaintext is handed out before the MDC at
 * the end is checked: the stream then fails, and callers keep the result only when it ended.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type * as OpenPGP from 'openpgp';
import { ByteQueue } from '../lib/byte-queue.js';
import { CfbDecipher } from './cfb-decipher.js';
import { AES_CFB, passphraseSessionKey } from './openpgp-session.js';

export interface DecryptKeys {
  passphrase?: string;
  privateKeys?: OpenPGP.PrivateKey[];
}

/** openpgp.js's names of the AES algorithms and their OpenPGP ids. */
const OPENPGP_AES: Record<string, number> = { aes128: 7, aes192: 8, aes256: 9 };
const TAG_PKESK = 1;
const TAG_SKESK = 3;
const TAG_LITERAL = 11;
const TAG_SEIPD = 18;
const MDC_BYTES = 22;
const PREFIX_BYTES = 18;

/** Raw input with look-ahead; remembers what it consumed while `recording`, for a replay. */
class Reader {
  private readonly buffered = new ByteQueue<Buffer>();
  recorded: Buffer[] | undefined = [];
  private done = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Ensures `n` bytes are buffered; false at the end of the input. */
  async fill(n: number): Promise<boolean> {
    while (this.buffered.bytes < n && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else if (next.value.length > 0) {
        this.buffered.push(next.value);
        this.recorded?.push(next.value);
      }
    }
    return this.buffered.bytes >= n;
  }

  async read(n: number): Promise<Buffer> {
    if (!(await this.fill(n))) throw new Error('truncated OpenPGP message');
    return Buffer.concat(this.buffered.take(n));
  }

  async byte(): Promise<number | undefined> {
    if (!(await this.fill(1))) return undefined;
    return this.buffered.take(1)[0]![0];
  }

  /** Up to `max` bytes that are already here (or arrive next), as one view; empty at the end. */
  async some(max: number): Promise<Buffer> {
    if (!(await this.fill(1))) return Buffer.alloc(0);
    return this.buffered.take(Math.min(max, this.buffered.headLength))[0]!;
  }

  /** Everything read so far followed by the rest of the input (for openpgp.js). */
  replay(): AsyncIterable<Buffer> {
    const recorded = this.recorded ?? [];
    const source = this.source;
    const done = this.done;
    return (async function* () {
      yield* recorded;
      if (done) return;
      for (;;) {
        const next = await source.next();
        if (next.done) return;
        yield next.value;
      }
    })();
  }
}

interface Header {
  tag: number;
  /** Body length, or undefined when indeterminate (old format type 3). */
  length: number | undefined;
  partial: boolean;
}

/** A new-format body length (§4.2.2) from its first octet and a reader of the next ones. */
async function newLength(first: number, next: () => Promise<number>): Promise<{ length: number; partial: boolean }> {
  if (first < 192) return { length: first, partial: false };
  if (first < 224) return { length: ((first - 192) << 8) + (await next()) + 192, partial: false };
  if (first < 255) return { length: 2 ** (first & 0x1f), partial: true };
  let n = 0;
  for (let i = 0; i < 4; i++) n = n * 256 + (await next());
  return { length: n, partial: false };
}

async function readHeader(reader: Reader): Promise<{ header: Header; raw: number[] } | undefined> {
  const first = await reader.byte();
  if (first === undefined) return undefined;
  const raw = [first];
  const next = async () => {
    const b = await reader.byte();
    if (b === undefined) throw new Error('truncated OpenPGP packet header');
    raw.push(b);
    return b;
  };
  if (!(first & 0x80)) throw new Error('not an OpenPGP message');
  if (first & 0x40) {
    const { length, partial } = await newLength(await next(), next);
    return { header: { tag: first & 0x3f, length, partial }, raw };
  }
  const type = first & 3;
  let length: number | undefined;
  if (type === 3) length = undefined;
  else {
    length = 0;
    for (let i = 0; i < 1 << type; i++) length = length * 256 + (await next());
  }
  return { header: { tag: (first >> 2) & 0x0f, length, partial: false }, raw };
}

/**
 * The plaintext of the SEIPD packet: strips the prefix, holds back the MDC, unwraps the
 * literal packet (whose own framing may cross chunk boundaries), and checks the MDC at the end.
 */
class Inner {
  private readonly sha1: Hash = createHash('sha1');
  private tail = Buffer.alloc(0);
  private pending = Buffer.alloc(0);
  private prefixSeen = false;
  /** Literal packet: undefined before its header; remaining octets of the current piece. */
  private remaining: number | undefined;
  private partial = false;
  private indeterminate = false;
  private literalDone = false;
  private headerSkipped = false;
  /** Set once the first inner packet is known: false means "not a literal packet, fall back". */
  literal: boolean | undefined;

  /** Plaintext in; literal data out. */
  push(plain: Buffer): Buffer[] {
    // Hold back the last MDC_BYTES octets: they may be the MDC packet.
    if (plain.length < MDC_BYTES) {
      const all = Buffer.concat([this.tail, plain]);
      this.tail = all.subarray(all.length - Math.min(all.length, MDC_BYTES));
      return this.consume(all.subarray(0, Math.max(0, all.length - MDC_BYTES)));
    }
    // The held-back octets, then the chunk less its own last ones: no copy of the chunk.
    const out = this.consume(this.tail);
    this.tail = Buffer.from(plain.subarray(plain.length - MDC_BYTES));
    out.push(...this.consume(plain.subarray(0, plain.length - MDC_BYTES)));
    return out;
  }

  private consume(body: Buffer): Buffer[] {
    if (body.length === 0) return [];
    this.sha1.update(body);
    return this.parse(body);
  }

  end(): Buffer[] {
    if (this.tail.length < MDC_BYTES || this.tail[0] !== 0xd3 || this.tail[1] !== 0x14) throw new Error('modification detected: the integrity check (MDC) is missing or damaged');
    this.sha1.update(this.tail.subarray(0, 2));
    if (!this.sha1.digest().equals(this.tail.subarray(2))) throw new Error('modification detected: the integrity check (MDC) does not match');
    if (!this.prefixSeen || this.pending.length > 0) throw new Error('truncated encrypted data');
    if (this.indeterminate) this.literalDone = true;
    if (!this.literalDone || (this.remaining ?? 0) > 0) throw new Error('truncated literal data packet');
    return [];
  }

  private parse(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    if (!this.prefixSeen) {
      if (data.length < PREFIX_BYTES) {
        this.pending = Buffer.from(data);
        return out;
      }
      if (data[14] !== data[16] || data[15] !== data[17]) throw new Error('quick check of the session key failed: wrong passphrase or key, or the start of the file is damaged');
      this.prefixSeen = true;
      data = data.subarray(PREFIX_BYTES);
    }
    while (data.length > 0) {
      if (this.literalDone) throw new Error('unexpected data after the literal data packet');
      if (this.remaining === undefined || (this.remaining === 0 && this.partial)) {
        // A packet header (first time) or the next partial length.
        const parsed = this.remaining === undefined ? this.packetHeader(data) : this.nextLength(data);
        if (parsed === 'more') {
          this.pending = Buffer.from(data);
          return out;
        }
        if (parsed === 'other') return out;
        data = data.subarray(parsed);
        continue;
      }
      if (!this.headerSkipped) {
        // format, file name length, file name, date
        if (data.length < 2 || data.length < 2 + data[1]! + 4) {
          this.pending = Buffer.from(data);
          return out;
        }
        const skip = 2 + data[1]! + 4;
        if (!this.indeterminate && skip > this.remaining) throw new Error('malformed literal data packet');
        if (!this.indeterminate) this.remaining -= skip;
        this.headerSkipped = true;
        if (this.remaining === 0 && !this.partial && !this.indeterminate) this.literalDone = true;
        data = data.subarray(skip);
        continue;
      }
      if (this.indeterminate) {
        out.push(data);
        return out;
      }
      const n = Math.min(this.remaining, data.length);
      if (n > 0) out.push(data.subarray(0, n));
      this.remaining -= n;
      data = data.subarray(n);
      if (this.remaining === 0 && !this.partial) this.literalDone = true;
    }
    return out;
  }

  /** The literal packet's header: octets used, 'more' if incomplete, 'other' if not literal data. */
  private packetHeader(data: Buffer): number | 'more' | 'other' {
    const first = data[0]!;
    const tag = first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f;
    if (!(first & 0x80) || tag !== TAG_LITERAL) {
      this.literal = false;
      return 'other';
    }
    if (first & 0x40) {
      const used = this.lengthAt(data, 1);
      if (used === 'more') return 'more';
      this.literal = true;
      return used + 1;
    }
    const type = first & 3;
    this.literal = true;
    if (type === 3) {
      this.indeterminate = true;
      this.remaining = 0;
      return 1;
    }
    const octets = 1 << type;
    if (data.length < 1 + octets) return 'more';
    let n = 0;
    for (let i = 0; i < octets; i++) n = n * 256 + data[1 + i]!;
    this.remaining = n;
    this.partial = false;
    return 1 + octets;
  }

  private nextLength(data: Buffer): number | 'more' {
    return this.lengthAt(data, 0);
  }

  /** Reads a new-format length at `at` into remaining/partial; octets used, or 'more'. */
  private lengthAt(data: Buffer, at: number): number | 'more' {
    if (data.length <= at) return 'more';
    const first = data[at]!;
    const size = first < 192 ? 1 : first < 224 ? 2 : first < 255 ? 1 : 5;
    if (data.length < at + size) return 'more';
    if (first < 192) this.set(first, false);
    else if (first < 224) this.set(((first - 192) << 8) + data[at + 1]! + 192, false);
    else if (first < 255) this.set(2 ** (first & 0x1f), true);
    else this.set(data.readUInt32BE(at + 1), false);
    return size;
  }

  private set(length: number, partial: boolean): void {
    this.remaining = length;
    this.partial = partial;
    if (!partial && length === 0 && this.headerSkipped) this.literalDone = true;
  }
}

export type Fallback = (replayed: Readable) => Promise<Readable>;

type SessionKey = { algorithm: number; key: Uint8Array };

/** A passphrase and only SKESK packets: the key is derived here, without loading openpgp.js. */
async function nativeSessionKey(skesk: readonly Buffer[], packets: number, keys: DecryptKeys): Promise<SessionKey | undefined> {
  if (!keys.passphrase || keys.privateKeys?.length || skesk.length !== packets) return undefined;
  for (const body of skesk) {
    const found = passphraseSessionKey(body, keys.passphrase);
    if (found) return found;
  }
  return undefined;
}

/** Everything else (PKESK, other S2K kinds): openpgp.js decrypts the session key. */
async function openpgpSessionKey(packets: Buffer, keys: DecryptKeys): Promise<SessionKey | undefined> {
  const openpgp = await import('openpgp');
  const message = await openpgp.readMessage({ binaryMessage: packets });
  const [sessionKey] = await openpgp.decryptSessionKeys({
    message,
    ...(keys.passphrase ? { passwords: [keys.passphrase] } : {}),
    ...(keys.privateKeys?.length ? { decryptionKeys: keys.privateKeys } : {}),
  });
  const algorithm = sessionKey?.algorithm ? OPENPGP_AES[sessionKey.algorithm] : undefined;
  return sessionKey && algorithm ? { algorithm, key: sessionKey.data } : undefined;
}

/**
 * Decrypts an OpenPGP message natively when it is SEIPD v1 with AES around a literal packet;
 * otherwise hands the whole input to `fallback` (openpgp.js). Rejects when the session key
 * cannot be decrypted (wrong passphrase or key), as openpgp.js does.
 */
export async function decryptNative(input: Readable, keys: DecryptKeys, fallback: Fallback): Promise<Readable> {
  const reader = new Reader(input[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  const fallBack = () => fallback(Readable.from(reader.replay(), { objectMode: false }));
  const esk: Buffer[] = [];
  const skeskBodies: Buffer[] = [];
  let seipd: Header | undefined;
  for (;;) {
    const read = await readHeader(reader);
    if (!read) throw new Error('no encrypted data in the OpenPGP message');
    const { header, raw } = read;
    if ((header.tag === TAG_PKESK || header.tag === TAG_SKESK) && header.length !== undefined && !header.partial) {
      const body = await reader.read(header.length);
      esk.push(Buffer.from(raw), body);
      if (header.tag === TAG_SKESK) skeskBodies.push(body);
      continue;
    }
    if (header.tag === TAG_SEIPD && header.length !== undefined && esk.length > 0) {
      seipd = header;
      break;
    }
    return fallBack();
  }
  const version = await reader.byte();
  if (version !== 1) return fallBack();
  const sessionKey = (await nativeSessionKey(skeskBodies, esk.length / 2, keys)) ?? (await openpgpSessionKey(Buffer.concat(esk), keys));
  const cipherName = sessionKey ? AES_CFB[sessionKey.algorithm] : undefined;
  if (!sessionKey || !cipherName) return fallBack();
  const decipher = new CfbDecipher(cipherName, sessionKey.key, Buffer.alloc(16));
  const inner = new Inner();
  const first = seipd;

  // Decrypt until the first inner packet is known: a literal packet goes on natively.
  const early: Buffer[] = [];
  let remaining = first.length! - 1;
  let partial = first.partial;
  const nextPiece = async (): Promise<Buffer | undefined> => {
    while (remaining === 0) {
      if (!partial) return undefined;
      const b = await reader.byte();
      if (b === undefined) throw new Error('truncated encrypted data packet');
      const next = await newLength(b, async () => {
        const x = await reader.byte();
        if (x === undefined) throw new Error('truncated encrypted data packet');
        return x;
      });
      remaining = next.length;
      partial = next.partial;
    }
    const piece = await reader.some(remaining);
    if (piece.length === 0) throw new Error('truncated encrypted data packet');
    remaining -= piece.length;
    return piece;
  };
  while (inner.literal === undefined) {
    const piece = await nextPiece();
    if (!piece) break;
    early.push(...inner.push(decipher.update(piece)));
  }
  if (inner.literal === false) return fallBack();
  reader.recorded = undefined;

  async function* rest(): AsyncGenerator<Buffer> {
    yield* early;
    for (;;) {
      const piece = await nextPiece();
      if (!piece) break;
      yield* inner.push(decipher.update(piece));
    }
    yield* inner.push(decipher.final());
    yield* inner.end();
    if ((await reader.byte()) !== undefined) throw new Error('unexpected data after the encrypted data packet');
  }
  return Readable.from(rest(), { objectMode: false, highWaterMark: 1 << 20 });
}
