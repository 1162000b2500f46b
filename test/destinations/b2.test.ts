import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b2Destination } from '../../src/destinations/b2/index.js';
import { DestinationError, ObjectNotFoundError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { describeDestinationContract, failingStream, listKeys, listPartials, randomStream, sha256Of } from '../support/destination-contract.js';
import { startB2Fake, type B2Fake } from '../support/fakes/b2.js';
import { closedPort } from '../support/fakes/http.js';

const ctx = { job: { path: '/job.json', name: 'job', hostname: 'host' }, logger: silentLogger };

function makeB2(fake: { url: string; keyId: string; key: string }, extra: Record<string, unknown> & { id?: string } = {}) {
  const { id = 'b2', ...rest } = extra;
  const parsed = b2Destination.options.parse({
    bucket: 'backups',
    credentials: { application_key_id: fake.keyId, application_key: fake.key },
    endpoint: fake.url,
    part_size_mb: 5,
    ...rest,
  });
  return b2Destination.create({ ...parsed, id, type: 'b2' }, ctx);
}

describeDestinationContract(
  'b2',
  async () => {
    const fake = await startB2Fake({ bucket: 'backups' });
    const spawn = {
      type: 'b2',
      options: { bucket: 'backups', credentials: { application_key_id: fake.keyId, application_key: fake.key }, endpoint: fake.url, part_size_mb: 5, prefix: 'host1' },
    };
    return { destination: await makeB2(fake, { prefix: 'host1' }), cleanup: () => fake.close(), spawn };
  },
  { pagingObjects: 25 },
);

describe('b2 destination', () => {
  let fake: B2Fake;
  beforeAll(async () => {
    fake = await startB2Fake({ bucket: 'backups' });
  });
  afterAll(async () => fake?.close());
  const signal = () => new AbortController().signal;

  it('uses one b2_upload_file up to one part, and a large file in parts beyond', async () => {
    const d = await makeB2(fake);
    const before = { ...fake.calls };
    await d.put('small/a.bin', Readable.from([Buffer.alloc(5_000_000, 1)]), { signal: signal() });
    expect((fake.calls.b2_upload_file ?? 0) - (before.b2_upload_file ?? 0)).toBe(1);
    expect(fake.calls.b2_start_large_file ?? 0).toBe(before.b2_start_large_file ?? 0);

    const { stream, sha256 } = randomStream(12_000_000, 9);
    expect((await d.put('large/b.bin', stream, { signal: signal() })).size).toBe(12_000_000);
    expect((fake.calls.b2_upload_part ?? 0) - (before.b2_upload_part ?? 0)).toBe(3);
    expect(fake.calls.b2_finish_large_file).toBe((before.b2_finish_large_file ?? 0) + 1);
    expect((await sha256Of(await d.get('large/b.bin'))).sha256).toBe(await sha256);
  });

  it('lists unfinished large files under the prefix across pages and cancels them', async () => {
    const d = await makeB2(fake, { prefix: 'srv' });
    const names = Array.from({ length: 12 }, (_, i) => `left/${String(i).padStart(2, '0')}/db.sql.zst.gpg`);
    const ids = names.map((n) => fake.addUnfinishedLargeFile(`srv/${n}`));
    const outside = fake.addUnfinishedLargeFile('srv/other/x.bin');
    const found = await listPartials(d, 'left/');
    expect(found.map((f) => f.key).sort()).toEqual([...names].sort());
    expect(found.map((f) => f.handle).sort()).toEqual([...ids].sort());
    await d.removePartial!(found);
    await d.removePartial!(found.slice(0, 1)); // already cancelled: not an error
    expect(await listPartials(d, 'left/')).toEqual([]);
    expect(fake.versions().map((v) => v.fileId)).toContain(outside);
    await d.removePartial!(await listPartials(d, 'other/'));
    expect(fake.versions().filter((v) => v.action === 'start')).toEqual([]);
  });

  it('cancels the large file when the stream fails, leaving no version at all', async () => {
    const d = await makeB2(fake);
    const cancels = fake.calls.b2_cancel_large_file ?? 0;
    await expect(d.put('failed/x.bin', failingStream(11_000_000), { signal: signal() })).rejects.toThrow(/data stream failed/);
    expect(fake.calls.b2_cancel_large_file).toBe(cancels + 1);
    expect(fake.versions().filter((v) => v.fileName === 'failed/x.bin')).toEqual([]);
  });

  it('deletes every version of a key, and unfinished large files too', async () => {
    const d = await makeB2(fake);
    await d.put('versions/a.txt', Readable.from([Buffer.from('one')]), { signal: signal() });
    await d.put('versions/a.txt', Readable.from([Buffer.from('two')]), { signal: signal() });
    await d.put('versions/a.txt-other', Readable.from([Buffer.from('keep')]), { signal: signal() });
    expect(fake.versions().filter((v) => v.fileName === 'versions/a.txt')).toHaveLength(2);
    await d.delete(['versions/a.txt']);
    expect(fake.versions().filter((v) => v.fileName === 'versions/a.txt')).toEqual([]);
    expect(await listKeys(d, 'versions/')).toEqual(['versions/a.txt-other']);
    await expect(d.get('versions/a.txt')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('authorizes again when the token expires', async () => {
    const d = await makeB2(fake);
    await d.put('expiry/a.txt', Readable.from([Buffer.from('x')]), { signal: signal() });
    fake.expireTokens();
    expect(await listKeys(d, 'expiry/')).toEqual(['expiry/a.txt']);
  });

  it('names the destination and hides the key when the key is wrong', async () => {
    const d = await makeB2({ url: fake.url, keyId: fake.keyId, key: 'K005wrongwrongwrong' }, { id: 'b2-wrong' });
    const error = (await d.check!().catch((e: unknown) => e)) as DestinationError;
    expect(error).toBeInstanceOf(DestinationError);
    expect(error.plugin).toBe('b2-wrong');
    expect(error.describe()).toMatch(/^destination b2-wrong: authorizing with Backblaze B2: Backblaze B2 rejected the application key \(HTTP 401 unauthorized: The applicationKeyId and\/or the applicationKey are wrong\.\)/);
    expect(error.describe()).not.toContain('K005wrongwrongwrong');
    expect(String((error.cause as Error).message)).not.toContain('K005wrongwrongwrong');
    await expect(d.put('x', Readable.from([Buffer.from('x')]), { signal: signal() })).rejects.toThrow(/rejected the application key/);
  });

  it('says when the bucket does not exist', async () => {
    const d = await makeB2(fake, { bucket: 'nope' });
    await expect(d.check!()).rejects.toThrow(/bucket nope does not exist/);
  });

  it('fails clearly when the endpoint is unreachable', async () => {
    const port = await closedPort();
    const d = await makeB2({ url: `http://127.0.0.1:${port}`, keyId: fake.keyId, key: fake.key }, { id: 'b2-down' });
    const error = (await d.check!().catch((e: unknown) => e)) as DestinationError;
    expect(error).toBeInstanceOf(DestinationError);
    expect(error.describe()).toMatch(/^destination b2-down: authorizing with Backblaze B2: cannot reach Backblaze B2 at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });
});
