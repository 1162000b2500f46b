import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEndpoint } from '../../src/destinations/minio/endpoint.js';
import { minioDestination } from '../../src/destinations/minio/index.js';
import type { Destination } from '../../src/destinations/types.js';
import { DestinationError, describeError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { describeDestinationContract, failingStream, listKeys, randomStream, sha256Of } from '../support/destination-contract.js';
import { checkUnfinishedMultipartUploads } from '../support/s3-partials.js';
import { startFakeS3, type FakeS3Server } from '../support/s3-server.js';

const ctx = { job: { path: '/job.json', name: 'job', hostname: 'host' }, logger: silentLogger };

/** Job-file options (before the schema's parsing). */
function jobOptionsFor(server: FakeS3Server, extra: Record<string, unknown> = {}) {
  return {
    endpoint: `127.0.0.1:${server.port}`,
    secure: 0,
    bucket: 'backups',
    credentials: { access_key: server.accessKeyId, secret_key: server.secretAccessKey },
    part_size_mb: 5,
    ...extra,
  };
}

function optionsFor(server: FakeS3Server, extra: Record<string, unknown> = {}) {
  const options = minioDestination.options.parse(jobOptionsFor(server, extra));
  return { id: 'spaces', type: 'minio', ...options } as never;
}

const makeMinio = (server: FakeS3Server, extra: Record<string, unknown> = {}) => minioDestination.create(optionsFor(server, extra), ctx);

describeDestinationContract('minio', async () => {
  const server = await startFakeS3({ pageLimit: 10 });
  return { destination: await makeMinio(server), cleanup: () => server.stop(), spawn: { type: 'minio', options: jobOptionsFor(server) } };
});

describe('minio destination', () => {
  let server: FakeS3Server;
  let d: Destination;

  beforeAll(async () => {
    server = await startFakeS3({ pageLimit: 10 });
    d = await makeMinio(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('lists unfinished multipart uploads under the prefix across pages and aborts them', () => checkUnfinishedMultipartUploads(server, (o) => makeMinio(server, o)));

  it('parses host, host:port and [v6]:port endpoints', () => {
    expect(parseEndpoint('nyc3.digitaloceanspaces.com')).toEqual({ host: 'nyc3.digitaloceanspaces.com', port: undefined });
    expect(parseEndpoint('localhost:9000')).toEqual({ host: 'localhost', port: 9000 });
    expect(parseEndpoint('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseEndpoint('host:99999')).toBeUndefined();
  });

  it('refuses an endpoint with a scheme, pointing at "secure"', () => {
    const options = minioDestination.options.parse({ endpoint: 'https://minio.lan', bucket: 'b', credentials: { access_key: 'a', secret_key: 's' } });
    expect(minioDestination.problems!({ id: 'm', type: 'minio', ...options } as never)).toEqual([
      { key: 'endpoint', message: 'give host or host:port without http:// or https:// (TLS is chosen by "secure")' },
    ]);
  });

  it('uploads a long stream in parts and leaves no incomplete upload, as the SDK itself sees it', async () => {
    const { stream, sha256 } = randomStream(11 * 1024 * 1024, 4);
    server.requests.length = 0;
    await d.put('mp/big.bin', stream, { signal: new AbortController().signal });
    expect(server.requests.filter((r) => r.query.has('partNumber'))).toHaveLength(3);
    expect((await sha256Of(await d.get('mp/big.bin'))).sha256).toBe(await sha256);

    await expect(d.put('mp/failed.bin', failingStream(12 * 1024 * 1024), { signal: new AbortController().signal })).rejects.toThrow(
      /storing mp\/failed.bin failed: the data stream failed \(source failed mid-stream\); nothing was stored/,
    );
    const controller = new AbortController();
    let sent = false;
    const stalled = new Readable({
      read() {
        if (!sent) this.push(Buffer.alloc(8 * 1024 * 1024, 1));
        sent = true;
      },
    });
    const watcher = setInterval(() => {
      if (server.requests.some((r) => r.path === '/backups/mp/aborted.bin' && r.query.has('partNumber'))) controller.abort(new Error('dump failed'));
    }, 10);
    await expect(d.put('mp/aborted.bin', stalled, { signal: controller.signal })).rejects.toThrow(/upload aborted \(dump failed\)/);
    clearInterval(watcher);

    expect(server.requests.filter((r) => r.method === 'DELETE' && r.query.has('uploadId')).map((r) => r.path)).toEqual([
      '/backups/mp/failed.bin',
      '/backups/mp/aborted.bin',
    ]);
    // What the SDK's own listIncompleteUploads (ListMultipartUploads) reports: nothing left.
    const Minio = await import('minio');
    const client = new Minio.Client({ endPoint: '127.0.0.1', port: server.port, useSSL: false, accessKey: server.accessKeyId, secretKey: server.secretAccessKey });
    const incomplete: unknown[] = [];
    for await (const upload of client.listIncompleteUploads('backups', 'mp/', true)) incomplete.push(upload);
    expect(incomplete).toEqual([]);
    expect(server.pendingUploads('backups')).toEqual([]);
    expect(await listKeys(d, 'mp/')).toEqual(['mp/big.bin']);
  });

  it('asks the server for the bucket region when none is configured', async () => {
    server.requests.length = 0;
    const noRegion = await makeMinio(server);
    await noRegion.check!();
    expect(server.requests.some((r) => r.query.has('location'))).toBe(true);
    const withRegion = await makeMinio(server, { region: 'us-east-1' });
    server.requests.length = 0;
    await withRegion.check!();
    expect(server.requests.some((r) => r.query.has('location'))).toBe(false);
  });

  it('stores under prefix', async () => {
    const prefixed = await makeMinio(server, { prefix: 'hosts/web1' });
    await prefixed.put('db/1/db.sql.gpg', Readable.from([Buffer.from('x')]), { signal: new AbortController().signal });
    expect(server.buckets.get('backups')!.has('hosts/web1/db/1/db.sql.gpg')).toBe(true);
    expect(await listKeys(prefixed, 'db/')).toEqual(['db/1/db.sql.gpg']);
  });

  it('wrong secret key: clear rejection naming the destination, without the secret', async () => {
    const wrongSecret = 'minio-wrong-secret-never-printed';
    for (const region of [undefined, 'us-east-1']) {
      const bad = await makeMinio(server, { region, credentials: { access_key: server.accessKeyId, secret_key: wrongSecret } });
      const error = await bad.check!().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DestinationError);
      const text = describeError(error);
      expect(text).toMatch(/^destination spaces: checking bucket "backups" failed: .*SignatureDoesNotMatch.*credentials\.secret_key/);
      expect(text).not.toContain(wrongSecret);
      const putError = await bad.put('denied/x', Readable.from([Buffer.from('x')]), { signal: new AbortController().signal }).catch((e: unknown) => e);
      expect(describeError(putError)).toMatch(/^destination spaces: storing denied\/x failed: .*SignatureDoesNotMatch/);
    }
    expect(server.buckets.get('backups')!.has('denied/x')).toBe(false);
  });

  it('unknown access key and missing bucket: clear messages', async () => {
    const unknown = await makeMinio(server, { credentials: { access_key: 'NOBODY', secret_key: 'x-secret' } });
    await expect(unknown.check!()).rejects.toThrow(/InvalidAccessKeyId.*credentials\.access_key/);
    const missing = await makeMinio(server, { bucket: 'nope', region: 'us-east-1' });
    await expect(missing.check!()).rejects.toThrow(/bucket "nope" does not exist/);
  });

  it('secure (the default) against a plain-HTTP server: says TLS failed and points at "secure"', async () => {
    const tls = await minioDestination.create({ ...(optionsFor(server) as object), secure: true, region: 'us-east-1' } as never, ctx);
    await expect(tls.check!()).rejects.toThrow(/TLS handshake with https:\/\/127\.0\.0\.1:\d+ failed .*"secure": false/);
  });

  it('unreachable endpoint: clear error naming it', async () => {
    const down = await startFakeS3();
    const port = down.port;
    await down.stop();
    const unreachable = await minioDestination.create(
      { ...(optionsFor(server) as object), endpoint: `127.0.0.1:${port}`, region: 'us-east-1' } as never,
      ctx,
    );
    const error = await unreachable.check!().catch((e: unknown) => e);
    expect(describeError(error)).toMatch(new RegExp(`^destination spaces: checking bucket "backups" failed: cannot reach http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  });
});
