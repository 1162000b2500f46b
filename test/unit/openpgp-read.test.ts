/**
 * The native OpenPGP reader (openpgp-read.ts behind decryptStream): what this tool writes and
 * what gpg writes (with and without its default compression, which goes to openpgp.js) read
 * back to the same bytes; a flipped byte, a truncation or a wrong passphrase fail the stream.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decryptStream, encryptStream, readPrivateKeys } from '../../src/pipeline/encrypt.js';
import { passphraseSessionKey } from '../../src/pipeline/openpgp-session.js';
import { describeWith } from '../support/binaries.js';
import { makeGpgHome, type GpgHome } from '../support/gpg.js';
import { makeTempDir } from '../support/tmp.js';

const run = promisify(execFile);
const PASSPHRASE = 'reader test passphrase 93bd';
const MiB = 1 << 20;

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** The message in uneven chunks, as a download delivers it. */
const chunked = (bytes: Buffer, step = 65536 + 7) => Readable.from((function* () {
  for (let i = 0; i < bytes.length; i += step) yield bytes.subarray(i, i + step);
})());

const decrypt = async (bytes: Buffer, passphrase = PASSPHRASE) => collect(await decryptStream(chunked(bytes), { passphrase }, 'test'));

describeWith(['gpg'], 'native OpenPGP reading', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let gpgHome: GpgHome;

  beforeAll(async () => {
    tmp = await makeTempDir();
    gpgHome = await makeGpgHome(true);
  });
  afterAll(async () => {
    await gpgHome?.remove();
    await tmp?.remove();
  });

  it('reads what encryptStream writes, every size shape', async () => {
    for (const size of [0, 1, 100, 600, MiB - 6, MiB - 5, 3 * MiB + 5]) {
      const data = randomBytes(size);
      const message = await collect(await encryptStream(Readable.from(size ? [data] : []), { kind: 'passphrase', passphrase: PASSPHRASE }));
      expect((await decrypt(message)).equals(data), `${size} bytes`).toBe(true);
    }
  });

  // The MDC (22 octets) is held back from each chunk: chunks shorter than, as long as and
  // just longer than it, and headers split anywhere.
  it('reads the message however the download splits it', async () => {
    for (const size of [0, 30, 5000, 70_000]) {
      const data = randomBytes(size);
      const message = await collect(await encryptStream(Readable.from(size ? [data] : []), { kind: 'passphrase', passphrase: PASSPHRASE }));
      for (const step of [1, 7, 21, 22, 23, 44, 1000, 65536 + 7]) {
        const out = await collect(await decryptStream(chunked(message, step), { passphrase: PASSPHRASE }, 'test'));
        expect(out.equals(data), `${size} bytes in chunks of ${step}`).toBe(true);
      }
    }
  });

  it('reads what gpg writes: uncompressed natively, compressed through openpgp.js; recipients too', async () => {
    const data = Buffer.concat([randomBytes(MiB), Buffer.alloc(MiB, 'x')]);
    const plain = join(tmp.path, 'plain');
    await writeFile(plain, data);
    for (const extra of [['--compress-algo', 'none'], [], ['--cipher-algo', 'AES128', '--compress-algo', 'none']]) {
      const out = join(tmp.path, `gpg-${extra.join('')}.gpg`);
      await run('gpg', ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', PASSPHRASE, '--symmetric', ...extra, '-o', out, plain], { env: gpgHome.env });
      expect((await decrypt(await readFile(out))).equals(data), extra.join(' ')).toBe(true);
    }
    const out = join(tmp.path, 'gpg-recipient.gpg');
    await run('gpg', ['--batch', '--yes', '--trust-model', 'always', '--compress-algo', 'none', '--recipient', gpgHome.fingerprint!, '--encrypt', '-o', out, plain], { env: gpgHome.env });
    const { stdout } = await run('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--export-secret-keys', '--armor', gpgHome.fingerprint!], { env: gpgHome.env });
    const privateKeys = await readPrivateKeys(stdout);
    expect((await collect(await decryptStream(chunked(await readFile(out)), { privateKeys }, 'test'))).equals(data)).toBe(true);
  });

  it('fails on a flipped byte, a truncation, trailing bytes and a wrong passphrase', async () => {
    const data = randomBytes(2 * MiB + 99);
    const message = await collect(await encryptStream(Readable.from([data]), { kind: 'passphrase', passphrase: PASSPHRASE }));
    for (const at of [60, 200, MiB, message.length - 30, message.length - 1]) {
      const altered = Buffer.from(message);
      altered[at] = altered[at]! ^ 0x40;
      await expect(decrypt(altered), `byte ${at}`).rejects.toThrow();
    }
    await expect(decrypt(message.subarray(0, message.length - 1))).rejects.toThrow();
    await expect(decrypt(message.subarray(0, MiB))).rejects.toThrow();
    await expect(decrypt(Buffer.concat([message, Buffer.of(0)]))).rejects.toThrow();
    await expect(decrypt(message, 'not the passphrase at all')).rejects.toThrow(/wrong passphrase or key/);
  });

  it('derives a passphrase session key natively for every S2K mode, digest and AES size gpg writes', async () => {
    const plain = join(tmp.path, 's2k-plain');
    await writeFile(plain, 'x');
    const cases = [
      ['--s2k-mode', '3', '--s2k-digest-algo', 'SHA1', '--cipher-algo', 'AES256'],
      ['--s2k-mode', '3', '--s2k-digest-algo', 'SHA512', '--s2k-count', '65011712', '--cipher-algo', 'AES128'],
      ['--s2k-mode', '1', '--s2k-digest-algo', 'SHA256', '--cipher-algo', 'AES192'],
      ['--s2k-mode', '0', '--s2k-digest-algo', 'SHA224', '--cipher-algo', 'AES256'],
    ];
    for (const extra of cases) {
      const out = join(tmp.path, 's2k.gpg');
      await run('gpg', ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', PASSPHRASE, '--symmetric', ...extra, '-o', out, plain], { env: gpgHome.env });
      const { stderr } = await run('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', PASSPHRASE, '--show-session-key', '-o', '/dev/null', '-d', out], { env: gpgHome.env });
      const [, algorithm, key] = /session key: '(\d+):([0-9A-F]+)'/.exec(stderr) ?? [];
      const message = await readFile(out);
      // The SKESK packet comes first (new or old format header, one-octet length).
      const newFormat = (message[0]! & 0x40) !== 0;
      const body = message.subarray(2, 2 + message[1]!);
      expect(newFormat ? message[0]! & 0x3f : (message[0]! >> 2) & 0x0f, extra.join(' ')).toBe(3);
      const derived = passphraseSessionKey(body, PASSPHRASE);
      expect(derived && { algorithm: derived.algorithm, key: derived.key.toString('hex').toUpperCase() }, extra.join(' ')).toEqual({ algorithm: Number(algorithm), key });
    }
    // A SKESK with an encrypted session key (as openpgp.js writes one) opens natively too.
    const { encryptSessionKey, readMessage } = await import('openpgp');
    const sessionKey = randomBytes(32);
    const packets = await encryptSessionKey({ data: sessionKey, algorithm: 'aes256', passwords: [PASSPHRASE], format: 'binary', config: { aeadProtect: false } });
    const skesk = (await readMessage({ binaryMessage: packets })).packets[0]!.write();
    expect(passphraseSessionKey(skesk, PASSPHRASE)?.key.equals(sessionKey)).toBe(true);
    expect(passphraseSessionKey(skesk, 'not the passphrase')).toBeUndefined();
  });
});
