import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Destination } from '../../src/destinations/s3/index.js';
import type { Destination } from '../../src/destinations/types.js';
import { DestinationError, describeError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { describeDestinationContract, failingStream, listKeys, randomStream, sha256Of } from '../support/destination-contract.js';
import { checkUnfinishedMultipartUploads } from '../support/s3-partials.js';
import { startFakeS3, type FakeS3Server } from '../support/s3-server.js';

const ctx = { job: { path: '/job.json', name: 'job', hostname: 'host' }, logger: silentLogger };

async function makeS3(server: FakeS3Server, extra: Record<string, unknown> = {}): Promise<Destination> {
  const options = s3Destination.options.parse({
    bucket: 'backups',
    region: 'us-east-1',
    credentials: { aws_access_key_id: server.accessKeyId, aws_secret_access_key: server.secretAccessKey },
    part_size_mb: 5,
    ...extra,
    endpoint_url: (extra.endpoint_url as string | undefined) ?? server.endpoint,
  });
  return s3Destination.create({ id: 'offsite', type: 's3', ...options } as never, ctx);
}

const put = (d: Destination, key: string, body: Buffer | Readable, signal = new AbortController().signal) =>
  d.put(key, body instanceof Readable ? body : Readable.from([body]), { signal });

describeDestinationContract('s3', async () => {
  // S3 pages at 1000 keys; 10 here makes the 25-object paging test cross three pages.
  const server = await startFakeS3({ pageLimit: 10 });
  const spawn = {
    type: 's3',
    options: {
      bucket: 'backups',
      region: 'us-east-1',
      credentials: { aws_access_key_id: server.accessKeyId, aws_secret_access_key: server.secretAccessKey },
      part_size_mb: 5,
      endpoint_url: server.endpoint,
    },
  };
  return { destination: await makeS3(server), cleanup: () => server.stop(), spawn };
});

describe('s3 destination', () => {
  let server: FakeS3Server;
  let d: Destination;

  beforeAll(async () => {
    server = await startFakeS3({ pageLimit: 10, buckets: ['backups', 'other'] });
    d = await makeS3(server);
  });
  afterAll(async () => {
    await d?.close?.();
    await server?.stop();
  });

  it('lists unfinished multipart uploads under the prefix across pages and aborts them', () => checkUnfinishedMultipartUploads(server, (o) => makeS3(server, o)));

  it('streams a large upload as a multipart upload and leaves no upload open', async () => {
    const { stream, sha256 } = randomStream(12 * 1024 * 1024, 5);
    server.requests.length = 0;
    await d.put('mp/big.bin', stream, { signal: new AbortController().signal });
    const parts = server.requests.filter((r) => r.method === 'PUT' && r.query.has('partNumber'));
    // 12 MiB with 5 MiB first parts (growing by ~109 KB each): 5 MiB + 5.1 MiB + the rest.
    expect(parts.map((r) => r.query.get('partNumber')).sort()).toEqual(['1', '2', '3']);
    expect(server.pendingUploads('backups')).toEqual([]);
    expect((await sha256Of(await d.get('mp/big.bin'))).sha256).toBe(await sha256);
  });

  it('aborts the multipart upload (AbortMultipartUpload) when the stream fails or the put is aborted', async () => {
    server.requests.length = 0;
    await expect(put(d, 'mp/failed.bin', failingStream(11 * 1024 * 1024))).rejects.toThrow(/data stream failed.*nothing was stored/);
    // A source that sends 8 MiB and then stalls; the put is aborted once a part has arrived.
    const controller = new AbortController();
    let sent = false;
    const stalled = new Readable({
      read() {
        if (!sent) this.push(Buffer.alloc(8 * 1024 * 1024, 7));
        sent = true;
      },
    });
    const watcher = setInterval(() => {
      if (server.requests.some((r) => r.path === '/backups/mp/aborted.bin' && r.query.has('partNumber'))) controller.abort(new Error('source failed'));
    }, 10);
    await expect(d.put('mp/aborted.bin', stalled, { signal: controller.signal })).rejects.toThrow(/aborted \(source failed\)/);
    clearInterval(watcher);
    const aborts = server.requests.filter((r) => r.method === 'DELETE' && r.query.has('uploadId'));
    expect(aborts.map((r) => r.path)).toEqual(['/backups/mp/failed.bin', '/backups/mp/aborted.bin']);
    expect(server.pendingUploads('backups')).toEqual([]);
    expect(await listKeys(d, 'mp/')).toEqual(['mp/big.bin']);
  });

  it('sends storage class and server-side encryption on single and multipart uploads', async () => {
    const kms = await makeS3(server, { storage_class: 'STANDARD_IA', sse: 'aws:kms', sse_kms_key_id: 'arn:aws:kms:eu-west-1:111122223333:key/abc' });
    await put(kms, 'sse/small.bin', Buffer.from('small'));
    await kms.put('sse/large.bin', randomStream(6 * 1024 * 1024).stream, { signal: new AbortController().signal });
    for (const key of ['sse/small.bin', 'sse/large.bin']) {
      const headers = server.buckets.get('backups')!.get(key)!.headers;
      expect(headers['x-amz-storage-class']).toBe('STANDARD_IA');
      expect(headers['x-amz-server-side-encryption']).toBe('aws:kms');
      expect(headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('arn:aws:kms:eu-west-1:111122223333:key/abc');
    }
    const aes = await makeS3(server, { sse: 'AES256' });
    await put(aes, 'sse/aes.bin', Buffer.from('x'));
    expect(server.buckets.get('backups')!.get('sse/aes.bin')!.headers['x-amz-server-side-encryption']).toBe('AES256');
  });

  it('rejects sse_kms_key_id without sse aws:kms', () => {
    const options = s3Destination.options.parse({ bucket: 'b', sse: 'AES256', sse_kms_key_id: 'k' });
    expect(s3Destination.problems!({ id: 'x', type: 's3', ...options } as never)).toEqual([{ key: 'sse_kms_key_id', message: 'only used with "sse": "aws:kms"' }]);
  });

  it('checksum when_required (default): no CRC headers, Content-MD5 on DeleteObjects; when_supported: SDK checksums', async () => {
    server.requests.length = 0;
    await put(d, 'ck/a.txt', Buffer.from('a'));
    await d.delete(['ck/a.txt']);
    const [putReq, deleteReq] = [server.requests.find((r) => r.method === 'PUT')!, server.requests.find((r) => r.query.has('delete'))!];
    expect(Object.keys(putReq.headers).filter((h) => h.startsWith('x-amz-checksum') || h.startsWith('x-amz-sdk-checksum'))).toEqual([]);
    expect(deleteReq.headers['content-md5']).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Object.keys(deleteReq.headers).filter((h) => h.startsWith('x-amz-checksum'))).toEqual([]);

    const modern = await makeS3(server, { checksum: 'when_supported' });
    server.requests.length = 0;
    await put(modern, 'ck/b.txt', Buffer.from('b'));
    expect(server.requests.find((r) => r.method === 'PUT')!.headers['x-amz-checksum-crc32']).toBeDefined();
  });

  it('stores under prefix and lists keys relative to it', async () => {
    const prefixed = await makeS3(server, { prefix: '/servers/web1/' });
    await put(prefixed, 'db/20260101000000/db.sql.zst.gpg', Buffer.from('dump'));
    expect(server.buckets.get('backups')!.has('servers/web1/db/20260101000000/db.sql.zst.gpg')).toBe(true);
    expect(await listKeys(prefixed, 'db/')).toEqual(['db/20260101000000/db.sql.zst.gpg']);
    expect((await sha256Of(await prefixed.get('db/20260101000000/db.sql.zst.gpg'))).size).toBe(4);
    await prefixed.delete(['db/20260101000000/db.sql.zst.gpg']);
    expect(await listKeys(prefixed, '')).toEqual([]);
  });

  it('deletes in DeleteObjects batches of at most 1000 keys', async () => {
    const keys = Array.from({ length: 1005 }, (_, i) => `many/k${String(i).padStart(4, '0')}`);
    const objects = server.buckets.get('other')!;
    for (const key of keys) objects.set(key, { body: Buffer.from('x'), etag: '"x"', lastModified: new Date(), headers: {} });
    const other = await makeS3(server, { bucket: 'other' });
    server.requests.length = 0;
    await other.delete([...keys, 'many/never-existed']);
    const batches = server.requests.filter((r) => r.query.has('delete'));
    expect(batches).toHaveLength(2);
    expect(objects.size).toBe(0);
    expect(await listKeys(other, 'many/')).toEqual([]);
  });

  it('check() passes with good credentials and an existing bucket', async () => {
    await expect(d.check!()).resolves.toBeUndefined();
  });

  it('wrong secret key: clear rejection naming the destination, without the secret', async () => {
    const wrongSecret = 'wrong-secret-value-never-printed-123';
    const bad = await makeS3(server, { credentials: { aws_access_key_id: server.accessKeyId, aws_secret_access_key: wrongSecret } });
    const error = await bad.check!().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DestinationError);
    const text = describeError(error);
    expect(text).toMatch(/^destination offsite: /);
    expect(text).toMatch(/SignatureDoesNotMatch.*credentials\.aws_secret_access_key/);
    expect(text).not.toContain(wrongSecret);
    expect(JSON.stringify((error as Error).cause ?? null)).not.toContain(wrongSecret);

    const putError = await put(bad, 'denied/x.bin', Buffer.from('x')).catch((e: unknown) => e);
    expect(describeError(putError)).toMatch(/destination offsite: storing denied\/x.bin failed: .*SignatureDoesNotMatch/);
    expect(describeError(putError)).not.toContain(wrongSecret);
    expect(server.buckets.get('backups')!.has('denied/x.bin')).toBe(false);
  });

  it('unknown access key: clear rejection naming the access key field', async () => {
    const bad = await makeS3(server, { credentials: { aws_access_key_id: 'AKIAUNKNOWN', aws_secret_access_key: 'whatever-secret' } });
    await expect(bad.check!()).rejects.toThrow(/InvalidAccessKeyId.*credentials\.aws_access_key_id/);
  });

  it('missing bucket: says so', async () => {
    const missing = await makeS3(server, { bucket: 'no-such-bucket' });
    await expect(missing.check!()).rejects.toThrow(/bucket "no-such-bucket" does not exist/);
  });

  it('unreachable endpoint: clear error naming the endpoint', async () => {
    const down = await startFakeS3();
    const endpoint = down.endpoint;
    await down.stop();
    const unreachable = await makeS3(down, { endpoint_url: endpoint });
    const error = await unreachable.check!().catch((e: unknown) => e);
    expect(describeError(error)).toMatch(new RegExp(`^destination offsite: checking bucket "backups" failed: cannot reach ${endpoint.replace(/\./g, '\\.')}.*ECONNREFUSED`));
  });
});
