/**
 * OpenPGP encryption and decryption, producing messages GnuPG 2.2 reads: binary (not armored),
 * SEIPD v1 with AES-256, no AEAD. Passphrase (symmetric, like `gpg --symmetric`) or
 * recipients' public keys. The session-key packets are openpgp-session.ts's (native for a
 * passphrase, openpgp.js for keys), the data packet goes through Node's native crypto
 * (openpgp-seipd.ts); openpgp.js reads the keys and whatever the native reader does not know.
 */
import { readFile, stat } from 'node:fs/promises';
import { PassThrough, Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type * as OpenPGP from 'openpgp';
import { BackupError, ConfigError, PipelineError } from '../errors.js';
import { decryptNative } from './openpgp-read.js';
import { sessionKeyPackets } from './openpgp-session.js';
import { SeipdEncryptor } from './openpgp-seipd.js';
import { notFoundMessage } from '../lib/process.js';
import { whenBroken } from './streams.js';

export type Encryption =
  | { kind: 'passphrase'; passphrase: string }
  | { kind: 'recipients'; keys: OpenPGP.PublicKey[]; fingerprints: string[] }
  | { kind: 'none' };

export const ENCRYPTION_SUFFIX = '.gpg';

const SEIPD_V2_FEATURE = 0x08;

/** openpgp.js and execa load on first use: `backup --help` and validation start faster without them. */
const loadOpenpgp = () => import('openpgp');

export function describeEncryption(encryption: Encryption): string {
  if (encryption.kind === 'none') return 'none';
  if (encryption.kind === 'passphrase') return 'openpgp-passphrase';
  return `openpgp-recipients:${encryption.fingerprints.join(',')}`;
}

async function readKeyText(spec: string, path: string): Promise<string | Uint8Array> {
  if (spec.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) return spec;
  const isFile = await stat(spec).then((s) => s.isFile()).catch(() => false);
  if (isFile) {
    const bytes = await readFile(spec);
    return bytes.includes('-----BEGIN PGP') ? bytes.toString('utf8') : new Uint8Array(bytes);
  }
  if (!/^(0x)?[0-9A-Fa-f]{8,40}$/.test(spec) && !spec.includes('@')) {
    throw new ConfigError([{ path, message: `"${spec}" is neither an armored public key, a key file, nor a key id or e-mail` }]);
  }
  // The original took key ids from the gpg keyring: export the key from there.
  try {
    const { execa } = await import('execa');
    const { stdout } = await execa('gpg', ['--batch', '--export', '--armor', spec], { timeout: 30_000 });
    if (!stdout.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
      throw new ConfigError([
        { path, message: `key "${spec}" is not in the gpg keyring of user ${process.env.USER ?? 'current'} (GNUPGHOME=${process.env.GNUPGHOME ?? '~/.gnupg'}); import it with gpg --import, or give the armored key` },
      ]);
    }
    return stdout;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ConfigError([{ path, message: `${notFoundMessage('gpg')} (needed to look up key id ${spec})` }]);
    throw new ConfigError([{ path, message: `gpg could not export key "${spec}": ${(error as Error).message}` }]);
  }
}

/**
 * gpg 2.2 cannot read SEIPD v2 (AEAD) packets, and openpgp.js uses them whenever every
 * recipient key advertises the feature, whatever `aeadProtect` says. Clearing the feature bit
 * on the in-memory copy of the key makes it choose SEIPD v1; the key file is not changed.
 */
export function forceSeipdV1(key: OpenPGP.PublicKey): boolean {
  let changed = false;
  // `directSignatures` exists at runtime but is not in openpgp's type declarations.
  const direct = (key as unknown as { directSignatures?: OpenPGP.SignaturePacket[] }).directSignatures ?? [];
  const signatures = [...key.users.flatMap((u) => u.selfCertifications), ...direct];
  for (const sig of signatures) {
    const features = sig.features as number[] | null | undefined;
    if (features && features[0] !== undefined && features[0] & SEIPD_V2_FEATURE) {
      features[0] &= ~SEIPD_V2_FEATURE;
      changed = true;
    }
  }
  return changed;
}

export async function loadRecipients(specs: readonly string[], path: string, warn: (message: string) => void): Promise<Encryption> {
  const keys: OpenPGP.PublicKey[] = [];
  for (const [i, spec] of specs.entries()) {
    const where = `${path}.recipients[${i}]`;
    const material = await readKeyText(spec, where);
    let parsed: OpenPGP.Key[];
    const openpgp = await loadOpenpgp();
    try {
      parsed =
        typeof material === 'string'
          ? await openpgp.readKeys({ armoredKeys: material })
          : await openpgp.readKeys({ binaryKeys: material });
    } catch (error) {
      throw new ConfigError([{ path: where, message: `not a readable OpenPGP public key: ${(error as Error).message}` }]);
    }
    for (const key of parsed) {
      const publicKey = key.toPublic();
      if (publicKey.keyPacket.version === 6) {
        throw new ConfigError([{ path: where, message: 'v6 (RFC 9580) keys cannot be read by GnuPG 2.2; use a v4 key' }]);
      }
      try {
        await publicKey.getEncryptionKey();
      } catch (error) {
        throw new ConfigError([{ path: where, message: `key ${publicKey.getFingerprint()} cannot encrypt: ${(error as Error).message}` }]);
      }
      if (forceSeipdV1(publicKey)) {
        warn(`key ${publicKey.getFingerprint()} advertises AEAD (SEIPD v2), which GnuPG 2.2 cannot read; encrypting with SEIPD v1 instead`);
      }
      keys.push(publicKey);
    }
  }
  return { kind: 'recipients', keys, fingerprints: keys.map((k) => k.getFingerprint().toUpperCase()) };
}

/**
 * Encrypts a stream in-process; the output is a binary OpenPGP message (session-key packets
 * from openpgp-session.ts, the data packet by native crypto: see openpgp-seipd.ts). Errors of the input
 * propagate. encrypt-thread.ts does the same on a worker thread.
 */
export async function encryptStream(input: Readable, encryption: Encryption): Promise<Readable> {
  if (encryption.kind === 'none') return input;
  // Read at once (into a small buffer, then backpressure): Node empties a child's stdout that
  // has no reader when the child exits, and the session key may take that long (recipients).
  const held = new PassThrough();
  let early: Error | undefined;
  whenBroken(input, (error) => {
    early ??= error;
    held.destroy(error);
  });
  input.pipe(held);
  const { sessionKey, packets } = await sessionKeyPackets(encryption);
  const encryptor = new SeipdEncryptor(sessionKey);
  const push = (stream: Transform, parts: Uint8Array[]) => {
    for (const part of parts) stream.push(part);
  };
  const output = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        push(this, encryptor.update(chunk));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        push(this, encryptor.final());
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  output.push(packets);
  held.once('error', (error) => output.destroy(error));
  if (early) output.destroy(early);
  return held.pipe(output);
}

export type DecryptionKey = { passphrase?: string; privateKeys?: OpenPGP.PrivateKey[] };

export async function readPrivateKeys(armored: string, passphrase?: string): Promise<OpenPGP.PrivateKey[]> {
  const openpgp = await loadOpenpgp();
  const keys = await openpgp.readPrivateKeys({ armoredKeys: armored });
  return Promise.all(keys.map((k) => (k.isDecrypted() || !passphrase ? k : openpgp.decryptKey({ privateKey: k, passphrase }))));
}

/**
 * Decrypts a stream: natively when it is what this tool writes (SEIPD v1, AES, a literal
 * packet: openpgp-read.ts), with openpgp.js otherwise (gpg's compressed packets, older
 * formats). Streaming decryption hands out bytes before the integrity check at the end:
 * callers write to a temporary name and keep the result only when the returned stream ended
 * without error.
 */
export async function decryptStream(input: Readable, key: DecryptionKey, plugin: string): Promise<Readable> {
  try {
    return await decryptNative(input, { passphrase: key.passphrase, privateKeys: key.privateKeys }, (replayed) => decryptWithOpenpgp(replayed, key));
  } catch (error) {
    throw new PipelineError(`decryption failed: ${explainDecryptionFailure((error as Error).message)}`, { plugin, cause: error });
  }
}

async function decryptWithOpenpgp(input: Readable, key: DecryptionKey): Promise<Readable> {
  const openpgp = await loadOpenpgp();
  const message = await openpgp.readMessage({ binaryMessage: Readable.toWeb(input) as unknown as ReadableStream<Uint8Array> });
  const { data } = await openpgp.decrypt({
    message,
    format: 'binary',
    passwords: key.passphrase ? [key.passphrase] : undefined,
    decryptionKeys: key.privateKeys,
    config: { allowUnauthenticatedStream: true },
  });
  return Readable.fromWeb(data as unknown as WebReadableStream<Uint8Array>);
}

/**
 * What openpgp.js or gpg say when the key does not fit ("Session key decryption failed",
 * "No secret key", "Bad session key"), in the operator's terms; other texts unchanged.
 */
export function explainDecryptionFailure(text: string): string {
  if (/session key decryption failed|bad session key|no decryption key packets|incorrect key passphrase|quick check of the session key failed/i.test(text)) {
    return 'wrong passphrase or key: it does not open this file';
  }
  if (/no secret key/i.test(text)) return 'wrong key: no secret key for this file in the gpg keyring';
  return text;
}

/** A failed `gpg --decrypt` (read-back of a file encrypted to keys in the keyring), explained. */
export function gpgDecryptionError(error: unknown, plugin: string): unknown {
  if (!(error instanceof BackupError) || !error.stderrTail) return error;
  const explained = explainDecryptionFailure(error.stderrTail);
  if (explained === error.stderrTail) return error;
  return new PipelineError(`decryption failed: ${explained}`, { plugin, cause: error, exitCode: error.exitCode });
}
