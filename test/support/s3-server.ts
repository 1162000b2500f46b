/**
 * An in-process S3-protocol server for the s3 and minio destination tests, written to the
 * Amazon S3 REST API reference (path-style requests only): HeadBucket, GetBucketLocation,
 * ListObjectsV2 (prefix, max-keys, continuation-token, start-after, encoding-type=url),
 * ListMultipartUploads (key-marker, upload-id-marker, paged like ListObjectsV2), DeleteObjects, PutObject, GetObject, HeadObject, DeleteObject,
 * CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListParts.
 *
 * Why not s3rver: its ListObjectsV2 continuation tokens use the DES cipher, which Node 20's
 * OpenSSL 3 refuses (ERR_OSSL_EVP_UNSUPPORTED), and it implements neither AbortMultipartUpload
 * nor ListMultipartUploads, which are exactly what the atomic-put tests must observe.
 *
 * Like a real server it verifies AWS Signature Version 4 (Authorization header) against its one
 * account, checks x-amz-content-sha256 and Content-MD5 against the body, enforces the 5 MiB
 * minimum for every part but the last, and caps list pages at `pageLimit` keys (S3 uses 1000;
 * tests use 10 so that paging really happens). Like many S3-compatible servers it refuses
 * aws-chunked bodies (the newer SDK checksum trailers) with 501 NotImplemented.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredS3Object {
  body: Buffer;
  etag: string;
  lastModified: Date;
  /** Request headers kept for assertions (storage class, server-side encryption, content type). */
  headers: Record<string, string>;
}

export interface MultipartUploadState {
  key: string;
  initiated: Date;
  headers: Record<string, string>;
  parts: Map<number, { body: Buffer; etag: string }>;
}

export interface FakeS3Options {
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  buckets?: string[];
  /** Most keys one ListObjectsV2 page returns, whatever max-keys asks (S3: 1000). */
  pageLimit?: number;
  /** Smallest size of every part but the last (S3: 5 MiB). */
  minPartSize?: number;
}

/** An error reply a test's `intercept` sends instead of the real answer. */
export interface FaultReply {
  status: number;
  code: string;
  message: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  status: number;
}

export class FakeS3Server {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly buckets = new Map<string, Map<string, StoredS3Object>>();
  readonly uploads = new Map<string, MultipartUploadState & { bucket: string }>();
  readonly requests: RecordedRequest[] = [];
  pageLimit: number;
  minPartSize: number;
  /**
   * Fault injection: sees every authenticated request first; an error it returns is the reply
   * (e.g. MinIO's 507 XMinioStorageFull for a full disk), and the request waits while it is pending.
   */
  intercept?: (request: { method: string; key: string; query: URLSearchParams; body: Buffer }) => FaultReply | undefined | Promise<FaultReply | undefined>;
  private server?: Server;

  constructor(options: FakeS3Options = {}) {
    this.accessKeyId = options.accessKeyId ?? 'AKIAFAKEFAKEFAKE0001';
    this.secretAccessKey = options.secretAccessKey ?? 'fake-secret-key-0123456789abcdefghijklmn';
    this.region = options.region ?? 'us-east-1';
    this.pageLimit = options.pageLimit ?? 1000;
    this.minPartSize = options.minPartSize ?? 5 * 1024 * 1024;
    for (const name of options.buckets ?? []) this.buckets.set(name, new Map());
  }

  /** Starts listening on 127.0.0.1 on a free port; returns `http://127.0.0.1:PORT`. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.sendError(req, res, 500, 'InternalError', (error as Error).message);
        else res.destroy();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.endpoint;
  }

  get endpoint(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('fake S3 server is not running');
    return `http://127.0.0.1:${address.port}`;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Multipart uploads still in progress (neither completed nor aborted) in a bucket. */
  pendingUploads(bucket: string): string[] {
    return [...this.uploads.values()].filter((u) => u.bucket === bucket).map((u) => u.key);
  }

  /** Starts a multipart upload as a client killed mid-upload leaves it (no parts); returns its id. */
  addUnfinishedUpload(bucket: string, key: string): string {
    const uploadId = randomBytes(16).toString('hex');
    this.uploads.set(uploadId, { bucket, key, initiated: new Date(), headers: {}, parts: new Map() });
    return uploadId;
  }

  // ---- request handling ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const segments = rawPath.split('/');
    const bucket = decodeURIComponent(segments[1] ?? '');
    const key = segments.slice(2).map(decodeURIComponent).join('/');
    const headers = flattenHeaders(req);
    const body = await readBody(req);
    const record: RecordedRequest = { method: req.method ?? 'GET', path: rawPath, query: url.searchParams, headers, status: 0 };
    this.requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));

    const authProblem = this.verifySignature(req.method ?? 'GET', rawPath, url, headers, body);
    if (authProblem) return this.sendError(req, res, 403, authProblem.code, authProblem.message);

    if ((headers['content-encoding'] ?? '').includes('aws-chunked') || (headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-')) {
      return this.sendError(req, res, 501, 'NotImplemented', 'aws-chunked transfer encoding (streaming checksums) is not implemented');
    }
    const md5 = headers['content-md5'];
    if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5) {
      return this.sendError(req, res, 400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }

    const fault = await this.intercept?.({ method: req.method ?? 'GET', key, query: url.searchParams, body });
    if (fault) return this.sendError(req, res, fault.status, fault.code, fault.message);
    if (!bucket) return this.sendError(req, res, 501, 'NotImplemented', 'ListBuckets is not implemented by this fake');
    const objects = this.buckets.get(bucket);
    if (!objects) return this.sendError(req, res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    const q = url.searchParams;
    const method = req.method ?? 'GET';

    if (!key) {
      if (method === 'HEAD') return this.send(res, 200);
      if (method === 'GET' && q.has('location')) {
        return this.sendXml(res, 200, `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${this.region === 'us-east-1' ? '' : this.region}</LocationConstraint>`);
      }
      if (method === 'GET' && q.has('uploads')) return this.listUploads(res, bucket, q);
      if (method === 'GET' && q.get('list-type') === '2') return this.listObjectsV2(res, bucket, objects, q);
      if (method === 'POST' && q.has('delete')) return this.deleteObjects(req, res, objects, headers, body);
      return this.sendError(req, res, 501, 'NotImplemented', `${method} on a bucket with ${url.search} is not implemented by this fake`);
    }

    if (method === 'POST' && q.has('uploads')) {
      const uploadId = randomBytes(16).toString('hex');
      this.uploads.set(uploadId, { bucket, key, initiated: new Date(), headers, parts: new Map() });
      return this.sendXml(
        res,
        200,
        `<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xml(bucket)}</Bucket><Key>${xml(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
      );
    }
    const uploadId = q.get('uploadId');
    if (uploadId !== null) {
      const upload = this.uploads.get(uploadId);
      if (!upload || upload.bucket !== bucket || upload.key !== key) {
        return this.sendError(req, res, 404, 'NoSuchUpload', 'The specified multipart upload does not exist.');
      }
      if (method === 'PUT') {
        const partNumber = Number(q.get('partNumber'));
        if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
          return this.sendError(req, res, 400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
        }
        const etag = `"${createHash('md5').update(body).digest('hex')}"`;
        upload.parts.set(partNumber, { body, etag });
        res.setHeader('ETag', etag);
        return this.send(res, 200);
      }
      if (method === 'DELETE') {
        this.uploads.delete(uploadId);
        return this.send(res, 204);
      }
      if (method === 'GET') {
        const parts = [...upload.parts.entries()]
          .sort(([a], [b]) => a - b)
          .map(([n, p]) => `<Part><PartNumber>${n}</PartNumber><ETag>${xml(p.etag)}</ETag><Size>${p.body.length}</Size></Part>`)
          .join('');
        return this.sendXml(res, 200, `<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xml(bucket)}</Bucket><Key>${xml(key)}</Key><UploadId>${uploadId}</UploadId><IsTruncated>false</IsTruncated>${parts}</ListPartsResult>`);
      }
      if (method === 'POST') return this.completeUpload(req, res, objects, uploadId, upload, body.toString('utf8'));
    }

    if (method === 'PUT') {
      if (headers['x-amz-copy-source']) return this.sendError(req, res, 501, 'NotImplemented', 'CopyObject is not implemented by this fake');
      const etag = `"${createHash('md5').update(body).digest('hex')}"`;
      objects.set(key, { body, etag, lastModified: new Date(), headers });
      res.setHeader('ETag', etag);
      return this.send(res, 200);
    }
    if (method === 'GET' || method === 'HEAD') {
      const object = objects.get(key);
      if (!object) return this.sendError(req, res, 404, 'NoSuchKey', 'The specified key does not exist.');
      res.setHeader('ETag', object.etag);
      res.setHeader('Last-Modified', object.lastModified.toUTCString());
      res.setHeader('Content-Length', String(object.body.length));
      res.setHeader('Content-Type', object.headers['content-type'] ?? 'application/octet-stream');
      res.writeHead(200);
      res.end(method === 'HEAD' ? undefined : object.body);
      return;
    }
    if (method === 'DELETE') {
      objects.delete(key);
      return this.send(res, 204);
    }
    return this.sendError(req, res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }

  private listObjectsV2(res: ServerResponse, bucket: string, objects: Map<string, StoredS3Object>, q: URLSearchParams): void {
    const prefix = q.get('prefix') ?? '';
    const urlEncoding = q.get('encoding-type') === 'url';
    const requested = q.has('max-keys') ? Number(q.get('max-keys')) : 1000;
    const maxKeys = Math.max(0, Math.min(requested, this.pageLimit));
    const token = q.get('continuation-token');
    const after = token ? Buffer.from(token, 'base64url').toString('utf8') : (q.get('start-after') ?? '');
    const keys = [...objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const page = keys.slice(0, maxKeys);
    const truncated = keys.length > page.length;
    const enc = (s: string) => xml(urlEncoding ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
    const contents = page
      .map((k) => {
        const o = objects.get(k)!;
        return `<Contents><Key>${enc(k)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xml(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>${xml(o.headers['x-amz-storage-class'] ?? 'STANDARD')}</StorageClass></Contents>`;
      })
      .join('');
    const next = truncated ? `<NextContinuationToken>${Buffer.from(page[page.length - 1]!, 'utf8').toString('base64url')}</NextContinuationToken>` : '';
    this.sendXml(
      res,
      200,
      `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xml(bucket)}</Name><Prefix>${enc(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${requested}</MaxKeys>${urlEncoding ? '<EncodingType>url</EncodingType>' : ''}<IsTruncated>${truncated}</IsTruncated>${token ? `<ContinuationToken>${xml(token)}</ContinuationToken>` : ''}${next}${contents}</ListBucketResult>`,
    );
  }

  private listUploads(res: ServerResponse, bucket: string, q: URLSearchParams): void {
    const prefix = q.get('prefix') ?? '';
    const urlEncoding = q.get('encoding-type') === 'url';
    const enc = (s: string) => xml(urlEncoding ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
    // Ordered by key, then upload id; a page starts after (key-marker, upload-id-marker).
    const keyMarker = q.get('key-marker') ?? '';
    const idMarker = q.get('upload-id-marker') ?? '';
    const max = Math.min(Number(q.get('max-uploads') ?? 1000) || 1000, this.pageLimit);
    const all = [...this.uploads.entries()]
      .filter(([id, u]) => u.bucket === bucket && u.key.startsWith(prefix) && (u.key > keyMarker || (u.key === keyMarker && idMarker !== '' && id > idMarker)))
      .sort(([ia, a], [ib, b]) => (a.key < b.key ? -1 : a.key > b.key ? 1 : ia < ib ? -1 : ia > ib ? 1 : 0));
    const page = all.slice(0, max);
    const truncated = all.length > max;
    const last = page[page.length - 1];
    const next = truncated && last ? `<NextKeyMarker>${enc(last[1].key)}</NextKeyMarker><NextUploadIdMarker>${last[0]}</NextUploadIdMarker>` : '';
    const uploads = page
      .map(([id, u]) => `<Upload><Key>${enc(u.key)}</Key><UploadId>${id}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`)
      .join('');
    this.sendXml(
      res,
      200,
      `<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xml(bucket)}</Bucket><KeyMarker>${enc(keyMarker)}</KeyMarker><UploadIdMarker>${xml(idMarker)}</UploadIdMarker>${next}<Prefix>${enc(prefix)}</Prefix><MaxUploads>${max}</MaxUploads><IsTruncated>${truncated}</IsTruncated>${uploads}</ListMultipartUploadsResult>`,
    );
  }

  private deleteObjects(req: IncomingMessage, res: ServerResponse, objects: Map<string, StoredS3Object>, headers: Record<string, string>, body: Buffer): void {
    // "The Content-MD5 or x-amz-sdk-checksum-algorithm header is required for all Multi-Object Delete requests."
    if (!headers['content-md5'] && !Object.keys(headers).some((h) => h.startsWith('x-amz-checksum-'))) {
      return this.sendError(req, res, 400, 'InvalidRequest', 'Missing required header for this request: Content-MD5');
    }
    const text = body.toString('utf8');
    const keys = [...text.matchAll(/<Object>\s*<Key>([\s\S]*?)<\/Key>/g)].map((m) => unxml(m[1]!));
    if (keys.length === 0 || keys.length > 1000) {
      return this.sendError(req, res, 400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    }
    const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(text);
    for (const key of keys) objects.delete(key);
    const deleted = quiet ? '' : keys.map((k) => `<Deleted><Key>${xml(k)}</Key></Deleted>`).join('');
    this.sendXml(res, 200, `<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${deleted}</DeleteResult>`);
  }

  private completeUpload(
    req: IncomingMessage,
    res: ServerResponse,
    objects: Map<string, StoredS3Object>,
    uploadId: string,
    upload: MultipartUploadState & { bucket: string },
    text: string,
  ): void {
    const listed = [...text.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
      number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1]!)?.[1]),
      etag: unxml(/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]!)?.[1] ?? '').replace(/"/g, ''),
    }));
    if (listed.length === 0) return this.sendError(req, res, 400, 'MalformedXML', 'The XML you provided was not well-formed');
    const chosen: Buffer[] = [];
    let previous = 0;
    for (const [i, part] of listed.entries()) {
      if (part.number <= previous) return this.sendError(req, res, 400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
      previous = part.number;
      const stored = upload.parts.get(part.number);
      if (!stored || stored.etag.replace(/"/g, '') !== part.etag) {
        return this.sendError(req, res, 400, 'InvalidPart', 'One or more of the specified parts could not be found.');
      }
      if (i < listed.length - 1 && stored.body.length < this.minPartSize) {
        return this.sendError(req, res, 400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
      }
      chosen.push(stored.body);
    }
    const body = Buffer.concat(chosen);
    const etag = `"${createHash('md5')
      .update(Buffer.concat(listed.map((p) => Buffer.from(p.etag, 'hex'))))
      .digest('hex')}-${listed.length}"`;
    objects.set(upload.key, { body, etag, lastModified: new Date(), headers: upload.headers });
    this.uploads.delete(uploadId);
    const location = `${this.endpoint}/${encodeURIComponent(upload.bucket)}/${upload.key.split('/').map(encodeURIComponent).join('/')}`;
    this.sendXml(
      res,
      200,
      `<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>${xml(location)}</Location><Bucket>${xml(upload.bucket)}</Bucket><Key>${xml(upload.key)}</Key><ETag>${xml(etag)}</ETag></CompleteMultipartUploadResult>`,
    );
  }

  // ---- AWS Signature Version 4 (header form) ----

  private verifySignature(
    method: string,
    rawPath: string,
    url: URL,
    headers: Record<string, string>,
    body: Buffer,
  ): { code: string; message: string } | undefined {
    const auth = headers.authorization;
    if (!auth) return { code: 'AccessDenied', message: 'Anonymous access is not allowed' };
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return { code: 'AccessDenied', message: 'Unsupported Authorization header' };
    const [, accessKeyId, date, region, signedHeaders, signature] = m as unknown as [string, string, string, string, string, string];
    if (accessKeyId !== this.accessKeyId) {
      return { code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
    }
    const payloadHash = headers['x-amz-content-sha256'];
    if (!payloadHash) return { code: 'AccessDenied', message: 'Missing x-amz-content-sha256' };
    if (/^[0-9a-f]{64}$/.test(payloadHash) && createHash('sha256').update(body).digest('hex') !== payloadHash) {
      return { code: 'XAmzContentSHA256Mismatch', message: "The provided 'x-amz-content-sha256' header does not match what was computed." };
    }
    const amzDate = headers['x-amz-date'] ?? '';
    const query = [...url.searchParams.entries()]
      .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
      .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const names = signedHeaders.split(';');
    const canonicalHeaders = names.map((h) => `${h}:${(headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
    const canonicalRequest = [method, rawPath, query, canonicalHeaders, signedHeaders, payloadHash].join('\n');
    const scope = `${date}/${region}/s3/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
    const kDate = createHmac('sha256', `AWS4${this.secretAccessKey}`).update(date).digest();
    const kRegion = createHmac('sha256', kDate).update(region).digest();
    const kService = createHmac('sha256', kRegion).update('s3').digest();
    const kSigning = createHmac('sha256', kService).update('aws4_request').digest();
    const expected = createHmac('sha256', kSigning).update(stringToSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      return { code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.' };
    }
    return undefined;
  }

  // ---- responses ----

  private send(res: ServerResponse, status: number): void {
    res.writeHead(status, { 'Content-Length': '0' });
    res.end();
  }

  private sendXml(res: ServerResponse, status: number, body: string): void {
    const text = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
    res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  private sendError(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
    res.setHeader('x-amz-request-id', randomBytes(8).toString('hex'));
    if (req.method === 'HEAD') return this.send(res, status);
    this.sendXml(res, status, `<Error><Code>${code}</Code><Message>${xml(message)}</Message><Resource>${xml(req.url ?? '')}</Resource></Error>`);
  }
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function xml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function unxml(value: string): string {
  return value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&');
}

/** Starts a fake S3 server with one bucket; stop it with `server.stop()`. */
export async function startFakeS3(options: FakeS3Options = {}): Promise<FakeS3Server> {
  const server = new FakeS3Server({ buckets: ['backups'], ...options });
  await server.start();
  return server;
}
