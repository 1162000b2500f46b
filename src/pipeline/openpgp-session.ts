/**
 * The session-key packets that start an OpenPGP message, and the AES-256 key of the data
 * packet after them (written natively: openpgp-seipd.ts).
 *
 * - A passphrase: one SKESK v4 packet (RFC 4880 §5.3) with an iterated and salted S2K
 *   (§3.7.1.3, SHA-256, a fresh 8-octet salt) and no encrypted session key, so the S2K's output
 *   is the session key: what `gpg --symmetric` writes. Done here with node:crypto, so a backup
 *   with a passphrase never loads openpgp.js (about 100 ms and tens of MiB per run).
 * - Recipients' public keys: a PKESK v3 packet per key, written by openpgp.js.
 */
import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type * as OpenPGP from 'openpgp';
import { SESSION_KEY_BYTES } from './openpgp-seipd.js';

export type SessionKeyRecipients = { kind: 'passphrase'; passphrase: string } | { kind: 'recipients'; keys: OpenPGP.PublicKey[] };

export interface SessionKeyPackets {
  /** The raw AES-256 key for the data packet. */
  sessionKey: Uint8Array;
  /** The session-key packets, in binary, that start the message. */
  packets: Uint8Array;
}

const TAG_SKESK = 3;
const SKESK_VERSION = 4;
const CIPHER_AES256 = 9;
const S2K_ITERATED_SALTED = 3;
const HASH_SHA256 = 8;
/** OpenPGP symmetric algorithm ids of AES (§9.2) and their key sizes. */
export const AES_KEY_BYTES: Record<number, number> = { 7: 16, 8: 24, 9: 32 };
/** 16,777,216 octets hashed: openpgp.js's default, which earlier versions of this tool wrote. */
export const S2K_COUNT_BYTE = 224;

/** The number of octets an iterated and salted S2K hashes for its coded count (§3.7.1.3). */
export function s2kCount(coded: number): number {
  return (16 + (coded & 15)) * 2 ** ((coded >> 4) + 6);
}

/** Node's names for the OpenPGP hash algorithm ids an S2K may use (RFC 4880 §9.4). */
export const S2K_HASHES: Record<number, string> = { 1: 'md5', 2: 'sha1', 3: 'ripemd160', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };

/**
 * The key an S2K specifier derives from a passphrase (§3.7.1): simple (no salt), salted
 * (`count` undefined) or iterated and salted (salt‖passphrase repeated up to `count` octets,
 * all of it once when it is longer). A key longer than the hash's output takes more hash
 * contexts, the i-th preloaded with i zero octets (§3.7.1.1).
 */
export function deriveS2kKey(hashName: string, passphrase: Uint8Array, salt: Uint8Array | undefined, count: number | undefined, keyBytes: number): Buffer {
  const unit = Buffer.concat(salt ? [salt, passphrase] : [passphrase]);
  const total = count === undefined ? unit.length : Math.max(count, unit.length);
  // Whole repetitions per update call: 16-65 MiB go through in blocks of about 64 KiB.
  const block = Buffer.concat(Array.from({ length: Math.max(1, Math.floor((64 * 1024) / Math.max(1, unit.length))) }, () => unit));
  const parts: Buffer[] = [];
  for (let context = 0; Buffer.concat(parts).length < keyBytes; context++) {
    const hash = createHash(hashName).update(Buffer.alloc(context));
    let left = total;
    while (left >= block.length) {
      hash.update(block);
      left -= block.length;
    }
    // `block` starts with whole repetitions, so any prefix of it continues the sequence.
    if (left > 0) hash.update(block.subarray(0, left));
    parts.push(hash.digest());
  }
  return Buffer.concat(parts).subarray(0, keyBytes);
}

function passphrasePackets(passphrase: string): SessionKeyPackets {
  const salt = randomBytes(8);
  const sessionKey = deriveS2kKey('sha256', Buffer.from(passphrase, 'utf8'), salt, s2kCount(S2K_COUNT_BYTE), SESSION_KEY_BYTES);
  const body = [SKESK_VERSION, CIPHER_AES256, S2K_ITERATED_SALTED, HASH_SHA256, ...salt, S2K_COUNT_BYTE];
  return { sessionKey: new Uint8Array(sessionKey), packets: Uint8Array.from([0xc0 | TAG_SKESK, body.length, ...body]) };
}

export async function sessionKeyPackets(to: SessionKeyRecipients): Promise<SessionKeyPackets> {
  if (to.kind === 'passphrase') return passphrasePackets(to.passphrase);
  const openpgp = await import('openpgp');
  const sessionKey = new Uint8Array(randomBytes(SESSION_KEY_BYTES));
  const packets = await openpgp.encryptSessionKey({
    data: sessionKey,
    algorithm: 'aes256',
    format: 'binary',
    encryptionKeys: to.keys,
    // No AEAD: GnuPG 2.2 reads PKESK v3 only.
    config: { aeadProtect: false },
  });
  return { sessionKey, packets };
}

/** Node's cipher names for the AES algorithm ids (§9.2), in OpenPGP's CFB mode. */
export const AES_CFB: Record<number, string> = { 7: 'aes-128-cfb', 8: 'aes-192-cfb', 9: 'aes-256-cfb' };

/**
 * The session key a SKESK v4 packet body (§5.3) gives for `passphrase`, derived natively;
 * undefined for what is left to openpgp.js (another version, S2K type, hash or cipher). With
 * no encrypted session key in the packet, the S2K's output is the key (what gpg writes); a
 * wrong passphrase then shows at the data packet's quick check.
 */
export function passphraseSessionKey(body: Uint8Array, passphrase: string): { algorithm: number; key: Buffer } | undefined {
  const [version, cipher, type, hashId] = body;
  const keyBytes = AES_KEY_BYTES[cipher ?? -1];
  const hashName = S2K_HASHES[hashId ?? -1];
  if (version !== SKESK_VERSION || !keyBytes || !hashName) return undefined;
  let salt: Uint8Array | undefined;
  let count: number | undefined;
  let at = 4;
  if (type === 1 || type === S2K_ITERATED_SALTED) {
    salt = body.subarray(4, 12);
    at = 12;
    if (type === S2K_ITERATED_SALTED) count = s2kCount(body[at++] ?? 0);
  } else if (type !== 0) return undefined;
  if (body.length < at) return undefined;
  const kek = deriveS2kKey(hashName, Buffer.from(passphrase, 'utf8'), salt, count, keyBytes);
  const esk = body.subarray(at);
  if (esk.length === 0) return { algorithm: cipher!, key: kek };
  // An encrypted session key: algorithm octet and key, CFB with a zero IV (§5.3).
  const decipher = createDecipheriv(AES_CFB[cipher!]!, kek, Buffer.alloc(16));
  const plain = Buffer.concat([decipher.update(esk), decipher.final()]);
  const algorithm = plain[0] ?? -1;
  if (AES_KEY_BYTES[algorithm] !== plain.length - 1) return undefined; // garbage or not AES: openpgp.js says which
  return { algorithm, key: plain.subarray(1) };
}
