import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gsDestination } from '../../src/destinations/gs/index.js';
import { DestinationError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { abortingStream, describeDestinationContract, failingStream, listKeys, randomStream } from '../support/destination-contract.js';
import { startGcsFake } from '../support/fakes/gcs.js';
import { keyFile, makeServiceAccount } from '../support/fakes/google-oauth.js';
import { closedPort } from '../support/fakes/http.js';
import { makeTempDir } from '../support/tmp.js';

const ctx = { job: { path: '/job.json', name: 'job', hostname: 'host' }, logger: silentLogger };
const account = makeServiceAccount();

function makeGs({ id, ...extra }: Record<string, unknown> & { id: string }) {
  return gsDestination.create({ ...gsDestination.options.parse(extra), id, type: 'gs' }, ctx);
}

async function setup() {
  const fake = await startGcsFake({ buckets: ['backups'], accounts: [account] });
  const dir = await makeTempDir();
  const creds = join(dir.path, 'sa.json');
  await writeFile(creds, keyFile(account, fake.tokenUri), { mode: 0o600 });
  const cleanup = async () => {
    await fake.close();
    await dir.remove();
  };
  return { fake, dir, creds, cleanup };
}

describeDestinationContract(
  'gs',
  async () => {
    const { fake, creds, cleanup } = await setup();
    const options = { bucket: 'backups', gcs_creds_path: creds, endpoint: fake.url, prefix: 'host1', chunk_size_mb: 4 };
    return { destination: await makeGs({ id: 'gcs', ...options }), cleanup, spawn: { type: 'gs', options } };
  },
  { pagingObjects: 25, noPartialUploads: 'an unfinished resumable session is never listed and GCS discards it after a week' },
);

describe('gs destination', () => {
  let env: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    env = await setup();
  });
  afterAll(async () => env?.cleanup());

  const good = () => makeGs({ id: 'gcs', bucket: 'backups', gcs_creds_path: env.creds, endpoint: env.fake.url, prefix: 'p/', chunk_size_mb: 1 });

  it('stores objects under the prefix and uploads in several resumable chunks', async () => {
    const d = await good();
    const before = env.fake.log.length;
    const { stream, sha256 } = randomStream(3 * 1024 * 1024 + 5, 11);
    await d.put('db/20260101000000/db.sql.zst.gpg', stream, { signal: new AbortController().signal });
    await sha256;
    expect([...env.fake.objects('backups').keys()]).toContain('p/db/20260101000000/db.sql.zst.gpg');
    const puts = env.fake.log.slice(before).filter((l) => l.startsWith('PUT /upload/'));
    expect(puts.length).toBe(4);
  });

  it('never finalizes an upload whose stream fails, and cancels the session', async () => {
    const d = await good();
    const cancelledBefore = env.fake.cancelledSessions;
    await expect(d.put('atomic/x.bin', failingStream(3 * 1024 * 1024), { signal: new AbortController().signal })).rejects.toThrow(
      /data stream failed.*source failed mid-stream/,
    );
    expect(env.fake.objects('backups').has('p/atomic/x.bin')).toBe(false);
    expect(env.fake.openSessions()).toBe(0);
    expect(env.fake.cancelledSessions).toBe(cancelledBefore + 1);
  });

  it('never finalizes an aborted upload', async () => {
    const d = await good();
    const controller = new AbortController();
    const stream = abortingStream(controller, new Error('source failed'));
    await expect(d.put('aborted/x.bin', stream, { signal: controller.signal })).rejects.toThrow(/aborted \(source failed\)/);
    expect(await listKeys(d, 'aborted/')).toEqual([]);
    expect(env.fake.openSessions()).toBe(0);
  });

  it('names the destination and hides the key when the service account key is wrong', async () => {
    const other = makeServiceAccount(account.email); // same email, a different (unregistered) key
    const wrong = join(env.dir.path, 'wrong.json');
    await writeFile(wrong, keyFile(other, env.fake.tokenUri));
    const d = await makeGs({ id: 'gcs-wrong', bucket: 'backups', gcs_creds_path: wrong, endpoint: env.fake.url });
    const error = await d.check!().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DestinationError);
    expect((error as DestinationError).plugin).toBe('gcs-wrong');
    expect((error as DestinationError).describe()).toMatch(/destination gcs-wrong: .*refused the service account .*invalid_grant: Invalid JWT Signature/);
    expect((error as DestinationError).describe()).not.toContain('PRIVATE KEY');
    await expect(d.put('x/y', Readable.from([Buffer.from('x')]), { signal: new AbortController().signal })).rejects.toThrow(/refused the service account/);
  });

  it('reports the documented 401 of the API clearly', async () => {
    const d = await good();
    env.fake.tokens.revokeAll = true;
    try {
      const error = (await d.check!().catch((e: unknown) => e)) as DestinationError;
      expect(error).toBeInstanceOf(DestinationError);
      expect(error.describe()).toMatch(/destination gcs: checking gs:\/\/backups\/p\/: Google Cloud Storage rejected the credentials \(HTTP 401 Invalid Credentials\)/);
      expect(error.describe()).not.toMatch(/ya29\./);
    } finally {
      env.fake.tokens.revokeAll = false;
    }
  });

  it('says which bucket is missing', async () => {
    const d = await makeGs({ id: 'gcs', bucket: 'nope', gcs_creds_path: env.creds, endpoint: env.fake.url });
    await expect(d.check!()).rejects.toThrow(/bucket nope does not exist/);
  });

  it('fails clearly when the endpoint is unreachable', async () => {
    const port = await closedPort();
    const creds = join(env.dir.path, 'unreachable.json');
    await writeFile(creds, keyFile(account, `http://127.0.0.1:${port}/token`));
    const d = await makeGs({ id: 'gcs-down', bucket: 'backups', gcs_creds_path: creds, endpoint: `http://127.0.0.1:${port}` });
    const error = (await d.check!().catch((e: unknown) => e)) as DestinationError;
    expect(error).toBeInstanceOf(DestinationError);
    expect(error.describe()).toMatch(/destination gcs-down: .*cannot reach .*ECONNREFUSED/);
  });

  it('fails clearly when the key file is missing', async () => {
    const d = await makeGs({ id: 'gcs', bucket: 'backups', gcs_creds_path: join(env.dir.path, 'absent.json'), endpoint: env.fake.url });
    await expect(d.check!()).rejects.toThrow(/cannot read the service account key file .*absent\.json: ENOENT/);
  });
});
