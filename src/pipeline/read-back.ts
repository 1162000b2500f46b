/**
 * Reading a stored file back to its plaintext: download → check size and sha256 against the
 * manifest → decrypt (openpgp.js, or the system gpg for recipient keys held in a keyring)
 * → decompress. Shared by restore and verify. The plaintext stream may deliver bytes before
 * the checks at its end are done: callers keep the result only when `done` resolved.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { Socket } from 'node:net';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Destination } from '../destinations/types.js';
import { PipelineError } from '../errors.js';
import { compressionFromFileName, decompressStream, decompressZstdInto } from './compress.js';
import { decryptStream, gpgDecryptionError, type DecryptionKey } from './encrypt.js';
import { spawnProgram, stdoutOf } from '../lib/process.js';
import { streamed } from '../lib/release-memory.js';

export interface Expected {
  size: number;
  sha256: string;
}

export interface Decryption extends DecryptionKey {
  /** Decrypt with the system `gpg -d` (keyring and agent) when no key was given. */
  useGpg?: boolean;
}

export interface ReadBack {
  stream: Readable;
  /** Resolves once every check passed: size, sha256, OpenPGP integrity, decompressor exit. */
  done: Promise<void>;
}

export function isEncryptedFile(file: string): boolean {
  return /\.(gpg|pgp)$/.test(file);
}

/** The file name once every layer is removed: `db.sql.zst.gpg` → `db.sql`. */
export function plainFileName(file: string): string {
  return file.replace(/\.(gpg|pgp)$/, '').replace(/\.(zst|gz)$/, '');
}

/**
 * The layers the pipeline added to a file, as a name to read them from: what follows the
 * source's own name (`db.sql` stored as `db.sql.zst.gpg`: zstd and OpenPGP; a vzdump archive
 * `x.vma.zst` stored as `x.vma.zst.gpg`: OpenPGP only, its own compression stays). Without the
 * source's name (runs without a manifest), the stored name says it.
 */
export function addedLayers(file: string, name?: string): string {
  return name && file.startsWith(name) ? `file${file.slice(name.length)}` : file;
}

/** The name a stored file is given back under: its original name when the manifest has one, else without the pipeline's layers. */
export function restoredFileName(f: { file: string; name?: string; originalName?: string }): string {
  const original = f.originalName ? basename(f.originalName) : '';
  if (original && original !== '.' && original !== '..') return original;
  if (f.name && f.file.startsWith(f.name) && f.name === basename(f.name)) return f.name;
  return plainFileName(f.file);
}

function hashing(expected: Expected | undefined, key: string, plugin: string): { transform: Transform; check: () => void } {
  const hash = createHash('sha256');
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      size += chunk.length;
      // The chunk read and, as it goes on, its plaintext (decrypted into a new buffer).
      streamed(chunk.length * 2);
      callback(null, chunk);
    },
  });
  return {
    transform,
    check() {
      if (!expected) return;
      const digest = hash.digest('hex');
      if (size !== expected.size) throw new PipelineError(`${key}: size ${size} differs from the manifest's ${expected.size}`, { plugin });
      if (digest !== expected.sha256) throw new PipelineError(`${key}: sha256 differs from the manifest (stored file damaged or altered)`, { plugin });
    },
  };
}

interface Decrypted {
  /** The plaintext of the stored file, still compressed as the file's name says. */
  stream: Readable;
  /** The file's layers as a name (see addedLayers). */
  layers: string;
  /** Resolve once the download's size and sha256 and the decryption's own checks passed. */
  checks: Promise<void>[];
}

/** Download and decryption, with their checks. */
async function downloadAndDecrypt(destination: Destination, key: string, file: string, expected: Expected | undefined, decryption: Decryption, plugin: string, name?: string): Promise<Decrypted> {
  const layers = addedLayers(file, name);
  const raw = await destination.get(key);
  const hashed = hashing(expected, key, plugin);
  const downloaded = raw.pipe(hashed.transform);
  raw.once('error', (e) => downloaded.destroy(e));
  const downloadDone = new Promise<void>((resolve, reject) => {
    downloaded.once('end', () => {
      try {
        hashed.check();
        resolve();
      } catch (error) {
        reject(error);
      }
    });
    downloaded.once('error', reject);
  });
  downloadDone.catch(() => undefined);

  if (!isEncryptedFile(layers)) return { stream: downloaded, layers, checks: [downloadDone] };
  if (decryption.passphrase || decryption.privateKeys?.length) {
    return { stream: await decryptStream(downloaded, decryption, plugin), layers, checks: [downloadDone] };
  }
  if (decryption.useGpg) {
    const gpg = spawnProgram('gpg', ['--batch', '--quiet', '--decrypt'], { plugin, layer: 'pipeline', label: 'gpg --decrypt', stdio: ['pipe', 'pipe', 'pipe'] });
    const feeding = pipeline(downloaded, gpg.child.stdin!);
    const decryptDone = Promise.all([feeding, gpg.done.catch((e: unknown) => Promise.reject(gpgDecryptionError(e, plugin)))]).then(() => undefined);
    return { stream: stdoutOf(gpg), layers, checks: [downloadDone, decryptDone] };
  }
  throw new PipelineError(`${key} is encrypted and no passphrase or key is available`, { plugin });
}

/** `name`: the source's own name for the file (the manifest's), so only the pipeline's layers are undone. */
export async function readBack(destination: Destination, key: string, file: string, expected: Expected | undefined, decryption: Decryption, plugin: string, name?: string): Promise<ReadBack> {
  const decrypted = await downloadAndDecrypt(destination, key, file, expected, decryption, plugin, name);
  const output = new PassThrough();
  const plain = decompressStream(decrypted.stream, compressionFromFileName(decrypted.layers), plugin);
  // The output ends only after every check passed: a consumer that commits at end of input
  // (psql, tar) must never see a clean end of an altered or truncated file.
  const copying = pipeline(plain.stream, output, { end: false });
  decrypted.stream.once('error', (e) => output.destroy(e));
  const done = Promise.all([...decrypted.checks, plain.done, copying]).then(() => undefined);
  done.then(
    () => output.end(),
    (e: Error) => output.destroy(e),
  );
  return { stream: output, done };
}

/** Whether readBackInto can take this file: its pipeline compression is zstd. */
export function decompressedByZstd(file: string, name?: string): boolean {
  return compressionFromFileName(addedLayers(file, name)) === 'zstd';
}

/**
 * readBack for a program that reads the plaintext (tar -x): zstd writes straight into `sink`,
 * that program's stdin pipe, so the plaintext never passes through Node. Unlike readBack's
 * stream, the program may see the end of its input before the checks at the end of the file
 * are done: only a caller that keeps the result once `done` resolved (a staging folder) may use
 * it. `done` resolves once every check passed.
 */
export async function readBackInto(sink: Socket, destination: Destination, key: string, file: string, expected: Expected | undefined, decryption: Decryption, plugin: string, name?: string): Promise<{ done: Promise<void> }> {
  const decrypted = await downloadAndDecrypt(destination, key, file, expected, decryption, plugin, name);
  const done = Promise.all([...decrypted.checks, decompressZstdInto(decrypted.stream, sink, plugin)]).then(() => undefined);
  done.catch(() => undefined);
  // In an object: a promise returned as such would be awaited with this function's own.
  return { done };
}
