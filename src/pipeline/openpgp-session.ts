/**
 * The part of an OpenPGP message openpgp.js writes: a fresh AES-256 session key, and the
 * packets that carry it (SKESK v4 with an iterated and salted S2K for a passphrase, PKESK v3
 * per recipient key). The data packet after them is written natively (openpgp-seipd.ts).
 */
import { randomBytes } from 'node:crypto';
import type * as OpenPGP from 'openpgp';
import { SESSION_KEY_BYTES } from './openpgp-seipd.js';

export type SessionKeyRecipients = { kind: 'passphrase'; passphrase: string } | { kind: 'recipients'; keys: OpenPGP.PublicKey[] };

export interface SessionKeyPackets {
  /** The raw AES-256 key for the data packet. */
  sessionKey: Uint8Array;
  /** The session-key packets, in binary, that start the message. */
  packets: Uint8Array;
}

export async function sessionKeyPackets(to: SessionKeyRecipients): Promise<SessionKeyPackets> {
  const openpgp = await import('openpgp');
  const sessionKey = new Uint8Array(randomBytes(SESSION_KEY_BYTES));
  const packets = await openpgp.encryptSessionKey({
    data: sessionKey,
    algorithm: 'aes256',
    format: 'binary',
    ...(to.kind === 'passphrase' ? { passwords: [to.passphrase] } : { encryptionKeys: to.keys }),
    // No AEAD: GnuPG 2.2 reads SKESK v4 and PKESK v3 only.
    config: { aeadProtect: false },
  });
  return { sessionKey, packets };
}
