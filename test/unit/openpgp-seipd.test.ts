/**
 * Pins the OpenPGP packet format the native encryptor writes (openpgp-seipd.ts behind
 * openpgp.js's session-key packets): every output decrypts with the real gpg and with
 * openpgp.js, at the sizes where the partial body lengths change shape, and a flipped byte
 * anywhere makes both fail.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptStream, forceSeipdV1 } from '../../src/pipeline/encrypt.js';
import { SeipdEncryptor, definiteLength, transferable } from '../../src/pipeline/openpgp-seipd.js';
import { sessionKeyPackets } from '../../src/pipeline/openpgp-session.js';
import { describeWith } from '../support/binaries.js';
import { gpgDecrypt, makeGpgHome, type GpgHome } from '../support/gpg.js';
import { makeTempDir } from '../support/tmp.js';

const run = promisify(execFile);
const PASSPHRASE = 'seipd test passphrase 41c9';
const MiB = 1 << 20;

function seipd(sessionKey: Uint8Array, data: Uint8Array, pieceLog2?: number, split = 0): Buffer {
  const encryptor = new SeipdEncryptor(sessionKey, { pieceLog2 });
  const out: Uint8Array[] = [];
  // Fed in uneven chunks, as a pipe delivers them.
  const step = split || data.length || 1;
  for (let i = 0; i < data.length; i += step) out.push(...encryptor.update(data.subarray(i, i + step)));
  out.push(...encryptor.final());
  return Buffer.concat(out);
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function openpgpDecrypt(message: Uint8Array, key: { passwords?: string[]; decryptionKeys?: openpgp.PrivateKey[]; sessionKey?: Uint8Array }): Promise<Buffer> {
  const { data } = await openpgp.decrypt({
    message: await openpgp.readMessage({ binaryMessage: message }),
    format: 'binary',
    ...(key.sessionKey ? { sessionKeys: { data: key.sessionKey, algorithm: 'aes256' } } : {}),
    ...(key.passwords ? { passwords: key.passwords } : {}),
    ...(key.decryptionKeys ? { decryptionKeys: key.decryptionKeys } : {}),
  });
  return Buffer.from(data);
}

describe('OpenPGP lengths', () => {
  it('writes new-format definite lengths', () => {
    expect(definiteLength(0)).toEqual([0]);
    expect(definiteLength(191)).toEqual([191]);
    expect(definiteLength(192)).toEqual([192, 0]);
    expect(definiteLength(8383)).toEqual([223, 255]);
    expect(definiteLength(8384)).toEqual([255, 0, 0, 0x20, 0xc0]);
  });

  it('frames with power-of-two partial pieces, the first at least 512 octets, the last definite', () => {
    const key = new Uint8Array(randomBytes(32));
    const message = seipd(key, randomBytes(3 * MiB + 17), undefined, 65536);
    // Walk the outer packet: tag 18 new format, 1 MiB pieces, a definite last length.
    expect(message[0]).toBe(0xd2);
    let at = 1;
    let pieces = 0;
    for (;;) {
      const octet = message[at]!;
      if (octet >= 224 && octet < 255) {
        expect(octet).toBe(224 + 20);
        at += 1 + (1 << 20);
        pieces++;
        continue;
      }
      const length = octet < 192 ? octet : octet < 224 ? ((octet - 192) << 8) + message[at + 1]! + 192 : message.readUInt32BE(at + 1);
      at += (octet < 192 ? 1 : octet < 224 ? 2 : 5) + length;
      break;
    }
    expect(pieces).toBe(3);
    expect(at).toBe(message.length);
  });
});

describeWith(['gpg'], 'native SEIPD encryption, read by gpg and openpgp.js', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let gpgHome: GpgHome;
  let privateKey: openpgp.PrivateKey;
  let publicKey: openpgp.PublicKey;
  let n = 0;

  beforeAll(async () => {
    tmp = await makeTempDir();
    gpgHome = await makeGpgHome(true);
    const { stdout } = await run('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--export-secret-keys', '--armor', gpgHome.fingerprint!], { env: gpgHome.env });
    privateKey = await openpgp.readPrivateKey({ armoredKey: stdout });
    publicKey = await openpgp.readKey({ armoredKey: gpgHome.publicKey! });
    forceSeipdV1(publicKey);
  });
  afterAll(async () => {
    await gpgHome?.remove();
    await tmp?.remove();
  });

  const save = async (bytes: Uint8Array) => {
    const file = join(tmp.path, `m${n++}.gpg`);
    await writeFile(file, bytes);
    return file;
  };
  const gpgWithSessionKey = async (file: string, sessionKey: Uint8Array) =>
    (await run('gpg', ['--batch', '--quiet', '--override-session-key', `9:${Buffer.from(sessionKey).toString('hex')}`, '--decrypt', file], { env: gpgHome.env, encoding: 'buffer', maxBuffer: 1 << 30 })).stdout;

  it('passphrase: empty, 1 byte, and a few MiB round-trip through gpg and openpgp.js', async () => {
    for (const size of [0, 1, 3 * MiB + 12345]) {
      const data = randomBytes(size);
      const message = await collect(await encryptStream(Readable.from(size ? [data.subarray(0, size >> 1), data.subarray(size >> 1)] : []), { kind: 'passphrase', passphrase: PASSPHRASE }));
      expect(message[0]).toBe(0xc3); // SKESK first
      expect((await gpgDecrypt(await save(message), gpgHome, PASSPHRASE)).equals(data)).toBe(true);
      expect((await openpgpDecrypt(message, { passwords: [PASSPHRASE] })).equals(data)).toBe(true);
    }
  });

  it('recipients: decrypts with the secret key in gpg and in openpgp.js', async () => {
    for (const size of [0, 1, 2 * MiB + 3]) {
      const data = randomBytes(size);
      const encryption = { kind: 'recipients' as const, keys: [publicKey], fingerprints: [publicKey.getFingerprint()] };
      const message = await collect(await encryptStream(Readable.from(size ? [data] : []), encryption));
      expect(message[0]).toBe(0xc1); // PKESK first
      expect((await gpgDecrypt(await save(message), gpgHome)).equals(data)).toBe(true);
      expect((await openpgpDecrypt(message, { decryptionKeys: [privateKey] })).equals(data)).toBe(true);
    }
  });

  it('every size around the partial-length boundaries (512-octet and 1 MiB pieces)', async () => {
    const { sessionKey, packets } = await sessionKeyPackets({ kind: 'passphrase', passphrase: PASSPHRASE });
    const cases: Array<[number | undefined, number]> = [];
    // 512-octet pieces: literal body = 6 + n octets; encrypted plaintext = 52 + n (up to 8383).
    for (let size = 440; size <= 530; size++) cases.push([9, size]);
    for (const size of [1017, 1018, 1019, 1024, 1529, 1530, 1531, 4096, 9000]) cases.push([9, size]);
    // 1 MiB pieces (the default), around the literal and the SEIPD boundaries.
    for (const size of [MiB - 54, MiB - 53, MiB - 52, MiB - 7, MiB - 6, MiB - 5, 2 * MiB - 6, 2 * MiB]) cases.push([undefined, size]);
    for (const [log2, size] of cases) {
      const data = randomBytes(size);
      const message = Buffer.concat([packets, seipd(sessionKey, data, log2, 700)]);
      const why = `pieces 2^${log2 ?? 20}, ${size} bytes`;
      expect((await openpgpDecrypt(message, { sessionKey })).equals(data), why).toBe(true);
      // gpg for every case would take long: the 512-octet sweep is sampled.
      if (log2 === undefined || size % 7 === 0 || size > 530 || size === 458 || size === 459) {
        expect((await gpgWithSessionKey(await save(message), sessionKey)).equals(data), why).toBe(true);
      }
    }
  });

  it('every output chunk owns its memory: each call\'s output transferred away at once (as the worker does), the file still decrypts', async () => {
    const { sessionKey, packets } = await sessionKeyPackets({ kind: 'passphrase', passphrase: PASSPHRASE });
    for (const [log2, size, step] of [
      [9, 20_000, 700],
      [undefined, 3 * MiB + 17, 65536],
      [undefined, 2 * MiB + 5, 1_000_003],
    ] as const) {
      const data = randomBytes(size);
      const encryptor = new SeipdEncryptor(sessionKey, { pieceLog2: log2 });
      const received: Uint8Array[] = [];
      const hand = (chunks: Uint8Array[], why: string) => {
        // Whole buffers, each its own: the worker transfers them all (a shared one would be
        // detached under a chunk still to be sent; a view would be copied).
        expect(transferable(chunks).length, why).toBe(chunks.length);
        // Adjacent small chunks come joined (each chunk costs the stages downstream a turn).
        expect(chunks.some((c, i) => i > 0 && c.length < 256 && chunks[i - 1]!.length < 256), why).toBe(false);
        received.push(...structuredClone(chunks, { transfer: transferable(chunks) }));
        for (const c of chunks) expect(c.byteLength, `${why}: transferred`).toBe(0);
      };
      for (let i = 0; i < data.length; i += step) hand(encryptor.update(data.subarray(i, i + step)), `update at ${i}`);
      hand(encryptor.final(), 'final');
      const message = Buffer.concat([packets, ...received]);
      const why = `pieces 2^${log2 ?? 20}, ${size} bytes in calls of ${step}`;
      expect((await openpgpDecrypt(message, { sessionKey })).equals(data), why).toBe(true);
      expect((await gpgWithSessionKey(await save(message), sessionKey)).equals(data), why).toBe(true);
    }
  });

  it('a flipped byte anywhere fails gpg and openpgp.js', async () => {
    const data = randomBytes(1500);
    const { sessionKey, packets } = await sessionKeyPackets({ kind: 'passphrase', passphrase: PASSPHRASE });
    const message = Buffer.concat([packets, seipd(sessionKey, data, 9)]);
    expect((await gpgDecrypt(await save(message), gpgHome, PASSPHRASE)).equals(data)).toBe(true);
    // The session-key packet (sampled), the data packet's header, and a sample through the body to the MDC's last byte.
    const positions = new Set<number>();
    for (let i = 0; i < packets.length + 4; i += i < 4 ? 1 : 3) positions.add(i);
    for (let i = packets.length; i < packets.length + 6; i++) positions.add(i);
    for (let i = packets.length + 4; i < message.length; i += 97) positions.add(i);
    for (let i = message.length - 24; i < message.length; i += 4) positions.add(i);
    positions.add(message.length - 1);
    for (const at of positions) {
      const altered = Buffer.from(message);
      altered[at] = altered[at]! ^ 0x01;
      const gpgResult = await gpgDecrypt(await save(altered), gpgHome, PASSPHRASE).then(
        (out) => (out.equals(data) ? 'same' : 'different'),
        () => 'failed',
      );
      expect(gpgResult, `gpg, byte ${at} flipped`).toBe('failed');
      const openpgpResult = await openpgpDecrypt(altered, { passwords: [PASSPHRASE] }).then(
        () => 'decrypted',
        () => 'failed',
      );
      expect(openpgpResult, `openpgp.js, byte ${at} flipped`).toBe('failed');
    }
  });
});
