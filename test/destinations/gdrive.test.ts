import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gdriveDestination } from '../../src/destinations/gdrive/index.js';
import { DestinationError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { describeDestinationContract, failingStream, listKeys, randomStream, sha256Of } from '../support/destination-contract.js';
import { FOLDER_MIME, startDriveFake } from '../support/fakes/gdrive.js';
import { keyFile, makeServiceAccount } from '../support/fakes/google-oauth.js';
import { closedPort } from '../support/fakes/http.js';
import { makeTempDir } from '../support/tmp.js';

const ctx = { job: { path: '/job.json', name: 'job', hostname: 'host' }, logger: silentLogger };
const account = makeServiceAccount('drive-backup@project-1.iam.gserviceaccount.com');
const ROOT = 'root-folder-id';

function makeDrive({ id, ...extra }: Record<string, unknown> & { id: string }) {
  return gdriveDestination.create({ ...gdriveDestination.options.parse(extra), id, type: 'gdrive' }, ctx);
}

async function setup() {
  const fake = await startDriveFake({ accounts: [account] });
  fake.addFolder(ROOT, 'Backups');
  const dir = await makeTempDir();
  const creds = join(dir.path, 'sa.json');
  await writeFile(creds, keyFile(account, fake.tokenUri), { mode: 0o600 });
  return {
    fake,
    dir,
    creds,
    cleanup: async () => {
      await fake.close();
      await dir.remove();
    },
  };
}

describeDestinationContract(
  'gdrive',
  async () => {
    const { fake, creds, cleanup } = await setup();
    const options = { creds_file: creds, folder_id: ROOT, endpoint: fake.url, chunk_size_mb: 4 };
    return { destination: await makeDrive({ id: 'drive', ...options }), cleanup, spawn: { type: 'gdrive', options } };
  },
  { pagingObjects: 25, noPartialUploads: 'an unfinished resumable session creates no file and expires after a week' },
);

describe('gdrive destination', () => {
  let env: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    env = await setup();
  });
  afterAll(async () => env?.cleanup());
  const good = () => makeDrive({ id: 'drive', creds_file: env.creds, folder_id: ROOT, endpoint: env.fake.url, chunk_size_mb: 1 });

  it('maps keys to folders under folder_id, creating each folder once', async () => {
    const d = await good();
    await Promise.all(
      ['a', 'b', 'c'].map((n) => d.put(`db/20260101000000/${n}.gpg`, Readable.from([Buffer.from(n)]), { signal: new AbortController().signal })),
    );
    const folders = [...env.fake.files.values()].filter((f) => f.mimeType === FOLDER_MIME && f.id !== ROOT);
    expect(folders.map((f) => env.fake.pathOf(f, ROOT)).sort()).toEqual(['db', 'db/20260101000000']);
    const file = [...env.fake.files.values()].find((f) => f.name === 'b.gpg')!;
    expect(env.fake.pathOf(file, ROOT)).toBe('db/20260101000000/b.gpg');
  });

  it('replaces a file stored again under the same key', async () => {
    const d = await good();
    await d.put('same/x.txt', Readable.from([Buffer.from('one')]), { signal: new AbortController().signal });
    await d.put('same/x.txt', Readable.from([Buffer.from('two!')]), { signal: new AbortController().signal });
    expect([...env.fake.files.values()].filter((f) => f.name === 'x.txt')).toHaveLength(1);
    expect((await sha256Of(await d.get('same/x.txt'))).size).toBe(4);
  });

  it('uploads in resumable chunks and creates nothing when the stream fails', async () => {
    const d = await good();
    const { stream } = randomStream(2 * 1024 * 1024 + 8, 3);
    const before = env.fake.log.length;
    await d.put('chunks/x.bin', stream, { signal: new AbortController().signal });
    expect(env.fake.log.slice(before).filter((l) => l === 'PUT /upload/drive/v3/files')).toHaveLength(3);

    const sessionsBefore = env.fake.openSessions();
    await expect(d.put('chunks/failed.bin', failingStream(3 * 1024 * 1024), { signal: new AbortController().signal })).rejects.toThrow(
      /destination|data stream failed/,
    );
    expect([...env.fake.files.values()].some((f) => f.name === 'failed.bin')).toBe(false);
    expect(env.fake.openSessions()).toBe(sessionsBefore + 1); // left unfinished: Drive never creates the file
    expect(await listKeys(d, 'chunks/')).toEqual(['chunks/x.bin']);
  });

  it('removes emptied run folders on delete, never folder_id', async () => {
    const d = await good();
    await d.put('gone/20260101000000/f.gpg', Readable.from([Buffer.from('x')]), { signal: new AbortController().signal });
    await d.delete(['gone/20260101000000/f.gpg']);
    const paths = [...env.fake.files.values()].map((f) => env.fake.pathOf(f, ROOT));
    expect(paths.filter((p) => p?.startsWith('gone'))).toEqual([]);
    expect(env.fake.files.has(ROOT)).toBe(true);
    // and the folder is created again when needed
    await d.put('gone/20260102000000/f.gpg', Readable.from([Buffer.from('y')]), { signal: new AbortController().signal });
    expect(await listKeys(d, 'gone/')).toEqual(['gone/20260102000000/f.gpg']);
  });

  it('check() names a folder that is missing or not shared', async () => {
    const d = await makeDrive({ id: 'drive', creds_file: env.creds, folder_id: 'not-shared', endpoint: env.fake.url });
    await expect(d.check!()).rejects.toThrow(/folder not-shared does not exist or is not shared with drive-backup@/);
    await (await good()).check!();
  });

  it('names the destination and hides secrets when the key is wrong', async () => {
    const wrong = join(env.dir.path, 'wrong.json');
    await writeFile(wrong, keyFile(makeServiceAccount(account.email), env.fake.tokenUri));
    const d = await makeDrive({ id: 'drive-wrong', creds_file: wrong, folder_id: ROOT, endpoint: env.fake.url });
    const error = (await d.check!().catch((e: unknown) => e)) as DestinationError;
    expect(error).toBeInstanceOf(DestinationError);
    expect(error.plugin).toBe('drive-wrong');
    expect(error.describe()).toMatch(/^destination drive-wrong: .*invalid_grant: Invalid JWT Signature/);
    expect(error.describe()).not.toContain('PRIVATE KEY');
  });

  it('reports the documented 401 of the API clearly', async () => {
    const d = await good();
    env.fake.tokens.revokeAll = true;
    try {
      const error = (await d.put('x/y.bin', Readable.from([Buffer.from('x')]), { signal: new AbortController().signal }).catch((e: unknown) => e)) as DestinationError;
      expect(error).toBeInstanceOf(DestinationError);
      expect(error.describe()).toMatch(/^destination drive: storing x\/y\.bin: Google Drive rejected the credentials \(HTTP 401 Invalid Credentials\)/);
      expect(error.describe()).not.toMatch(/ya29\./);
    } finally {
      env.fake.tokens.revokeAll = false;
    }
  });

  it('fails clearly when the endpoint is unreachable', async () => {
    const port = await closedPort();
    const d = await makeDrive({ id: 'drive-down', creds_file: env.creds, folder_id: ROOT, endpoint: `http://127.0.0.1:${port}` });
    // the token endpoint (the fake) answers; the API does not
    const error = (await d.check!().catch((e: unknown) => e)) as DestinationError;
    expect(error).toBeInstanceOf(DestinationError);
    expect(error.describe()).toMatch(/^destination drive-down: .*cannot reach Google Drive at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });
});
