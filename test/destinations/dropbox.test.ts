import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropboxDestination } from '../../src/destinations/dropbox/index.js';
import { DestinationError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { describeDestinationContract, failingStream, listKeys, randomStream, sha256Of } from '../support/destination-contract.js';
import { startDropboxFake, type DropboxFake } from '../support/fakes/dropbox.js';
import { closedPort } from '../support/fakes/http.js';

const ctx = { job: { path: '/job.json', name: 'job', hostname: 'host' }, logger: silentLogger };

function makeDropbox({ id = 'dbx', ...extra }: Record<string, unknown> & { id?: string }) {
  const parsed = dropboxDestination.options.parse(extra);
  const full = { ...parsed, id, type: 'dropbox' };
  const problems = dropboxDestination.problems!(full);
  if (problems.length) throw new Error(JSON.stringify(problems));
  return dropboxDestination.create(full, ctx);
}

describeDestinationContract(
  'dropbox',
  async () => {
    const fake = await startDropboxFake();
    const options = { access_token: fake.accessToken, endpoint: fake.url };
    return { destination: await makeDropbox(options), cleanup: () => fake.close(), spawn: { type: 'dropbox', options } };
  },
  { pagingObjects: 25, noPartialUploads: 'an unfinished upload session is never a file and Dropbox discards it after 7 days' },
);

describe('dropbox destination', () => {
  let fake: DropboxFake;
  beforeAll(async () => {
    fake = await startDropboxFake();
  });
  afterAll(async () => fake?.close());
  const signal = () => new AbortController().signal;

  it('stores under folder (default /backups) with files/upload for one chunk and a session beyond', async () => {
    const d = await makeDropbox({ access_token: fake.accessToken, endpoint: fake.url, chunk_size_mb: 4 });
    await d.put('db/20260101000000/small.gpg', Readable.from([Buffer.from('small')]), { signal: signal() });
    expect(fake.entries.has('/backups/db/20260101000000/small.gpg')).toBe(true);
    expect(fake.calls['files/upload']).toBe(1);

    const { stream, sha256 } = randomStream(10 * 1024 * 1024 + 8, 4);
    expect((await d.put('db/20260101000000/big.gpg', stream, { signal: signal() })).size).toBe(10 * 1024 * 1024 + 8);
    expect(fake.calls['files/upload_session/start']).toBe(1);
    expect(fake.calls['files/upload_session/append_v2']).toBe(1);
    expect(fake.calls['files/upload_session/finish']).toBe(1);
    expect((await sha256Of(await d.get('db/20260101000000/big.gpg'))).sha256).toBe(await sha256);
  });

  it('never finishes the session when the stream fails: nothing is committed', async () => {
    const d = await makeDropbox({ access_token: fake.accessToken, endpoint: fake.url, folder: '/other', chunk_size_mb: 4 });
    const finishes = fake.calls['files/upload_session/finish'] ?? 0;
    await expect(d.put('x/failed.bin', failingStream(9 * 1024 * 1024), { signal: signal() })).rejects.toThrow(/data stream failed/);
    expect(fake.calls['files/upload_session/finish'] ?? 0).toBe(finishes);
    expect(fake.openSessions()).toBeGreaterThan(0);
    expect(fake.entries.has('/other/x/failed.bin')).toBe(false);
    expect(await listKeys(d, '')).toEqual([]);
  });

  it('gets short-lived access tokens from refresh_token + app_key + app_secret, with no secret in a URL', async () => {
    const d = await makeDropbox({ refresh_token: fake.refreshToken, app_key: fake.appKey, app_secret: fake.appSecret, endpoint: fake.url });
    await d.put('r/a.txt', Readable.from([Buffer.from('refreshed')]), { signal: signal() });
    expect(fake.refreshedTokens.length).toBe(1);
    expect(await listKeys(d, 'r/')).toEqual(['r/a.txt']);
    expect(fake.log.filter((l) => l.startsWith('POST /oauth2/token'))).toEqual(['POST /oauth2/token']);
    expect(fake.tokenRequestsWithQuery()).toBe(0);
  });

  it('removes run folders left empty by delete', async () => {
    const d = await makeDropbox({ access_token: fake.accessToken, endpoint: fake.url, folder: 'pruned' });
    await d.put('db/20260101000000/a.gpg', Readable.from([Buffer.from('a')]), { signal: signal() });
    await d.put('db/20260102000000/a.gpg', Readable.from([Buffer.from('b')]), { signal: signal() });
    await d.delete(['db/20260101000000/a.gpg']);
    expect([...fake.entries.keys()].filter((k) => k.startsWith('/pruned/')).sort()).toEqual(['/pruned/db', '/pruned/db/20260102000000', '/pruned/db/20260102000000/a.gpg']);
  });

  it('rejects a missing token in the job file', () => {
    expect(() => makeDropbox({ folder: '/x' })).toThrow(/access_token/);
    expect(() => makeDropbox({ refresh_token: 'r' })).toThrow(/app_key/);
  });

  it('wrong access token: the documented 401 becomes a clear error naming the destination, without the token', async () => {
    const d = await makeDropbox({ id: 'dbx-wrong', access_token: 'sl.wrong-token-value', endpoint: fake.url });
    const error = (await d.check!().catch((e: unknown) => e)) as DestinationError;
    expect(error).toBeInstanceOf(DestinationError);
    expect(error.plugin).toBe('dbx-wrong');
    expect(error.describe()).toMatch(/^destination dbx-wrong: checking Dropbox folder \/backups: Dropbox rejected the access token \(HTTP 401 invalid_access_token/);
    expect(error.describe()).not.toContain('sl.wrong-token-value');
    await expect(d.put('a', Readable.from([Buffer.from('x')]), { signal: signal() })).rejects.toThrow(/HTTP 401/);
  });

  it('wrong refresh token: a clear error', async () => {
    const d = await makeDropbox({ id: 'dbx-r', refresh_token: 'not-it', app_key: fake.appKey, app_secret: fake.appSecret, endpoint: fake.url });
    const error = (await d.check!().catch((e: unknown) => e)) as DestinationError;
    expect(error.describe()).toMatch(/^destination dbx-r: .*Dropbox refused the refresh token \(HTTP 400 invalid_grant: refresh token is invalid or revoked\)/);
    expect(error.describe()).not.toContain(fake.appSecret);
  });

  it('fails clearly when the endpoint is unreachable', async () => {
    const port = await closedPort();
    const d = await makeDropbox({ id: 'dbx-down', access_token: fake.accessToken, endpoint: `http://127.0.0.1:${port}` });
    const error = (await d.check!().catch((e: unknown) => e)) as DestinationError;
    expect(error).toBeInstanceOf(DestinationError);
    expect(error.describe()).toMatch(/^destination dbx-down: .*cannot reach Dropbox at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });
});
