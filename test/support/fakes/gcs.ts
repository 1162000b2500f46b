/**
 * A Google Cloud Storage JSON API fake, written to the documentation:
 * - Objects: list (GET /storage/v1/b/{bucket}/o, prefix, maxResults, pageToken -> items,
 *   nextPageToken), get (GET .../o/{object}, alt=media for the data with x-goog-hash),
 *   delete (DELETE .../o/{object}, ifGenerationMatch; 404 when missing).
 * - Resumable uploads ("Perform resumable uploads"): POST /upload/storage/v1/b/{bucket}/o?
 *   uploadType=resumable&name=... answers 200 with the session URI in Location; PUT to it with
 *   Content-Range "bytes a-b/total" or "bytes a-b/*" per chunk (308 + Range "bytes=0-n" while
 *   incomplete); the object is created only when the received bytes reach the declared total;
 *   "bytes * /total" queries the status; DELETE on the session URI cancels it (499).
 * - Errors: {error: {code, message, errors: [{domain, reason, message}]}}; 401 "Invalid
 *   Credentials" without a valid OAuth token.
 * Pages hold at most `pageSize` (10) items whatever maxResults asks, so paging is exercised.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { GoogleTokenIssuer, googleError, type ServiceAccount } from './google-oauth.js';
import { byteOrder, sendBytes, sendJson, startFake, type FakeRequest, type FakeServer } from './http.js';

const SCOPES = [
  'https://www.googleapis.com/auth/devstorage.read_write',
  'https://www.googleapis.com/auth/devstorage.full_control',
  'https://www.googleapis.com/auth/cloud-platform',
];

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C (Castagnoli), base64 of the big-endian value, as GCS reports it. */
export function crc32cBase64(data: Buffer): string {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

interface StoredObject {
  data: Buffer;
  generation: number;
  timeCreated: string;
  contentType: string;
  md5: string;
  crc32c: string;
}

interface Session {
  bucket: string;
  name: string;
  contentType: string;
  chunks: Buffer[];
  received: number;
}

export interface GcsFake extends FakeServer {
  tokenUri: string;
  tokens: GoogleTokenIssuer;
  objects(bucket: string): Map<string, StoredObject>;
  /** Upload sessions started and neither finished nor cancelled. */
  openSessions(): number;
  cancelledSessions: number;
}

export async function startGcsFake(options: { buckets: string[]; accounts: ServiceAccount[]; pageSize?: number }): Promise<GcsFake> {
  const pageSize = options.pageSize ?? 10;
  const buckets = new Map(options.buckets.map((b) => [b, new Map<string, StoredObject>()]));
  const sessions = new Map<string, Session>();
  const tokens = new GoogleTokenIssuer('/token');
  for (const a of options.accounts) tokens.register(a);
  let generation = 1_700_000_000_000_000;
  let cancelled = 0;
  let baseUrl = '';

  const resource = (bucket: string, name: string, o: StoredObject) => ({
    kind: 'storage#object',
    id: `${bucket}/${name}/${o.generation}`,
    selfLink: `${baseUrl}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`,
    name,
    bucket,
    generation: String(o.generation),
    metageneration: '1',
    contentType: o.contentType,
    storageClass: 'STANDARD',
    size: String(o.data.length),
    md5Hash: o.md5,
    crc32c: o.crc32c,
    etag: Buffer.from(String(o.generation)).toString('base64'),
    timeCreated: o.timeCreated,
    updated: o.timeCreated,
  });

  const noSuchObject = (res: ServerResponse, bucket: string, name: string) => googleError(res, 404, `No such object: ${bucket}/${name}`, 'notFound');
  const noSuchBucket = (res: ServerResponse) => googleError(res, 404, 'The specified bucket does not exist.', 'notFound');

  function finalize(session: Session): StoredObject {
    const data = Buffer.concat(session.chunks, session.received);
    const object: StoredObject = {
      data,
      generation: ++generation,
      timeCreated: new Date().toISOString(),
      contentType: session.contentType,
      md5: createHash('md5').update(data).digest('base64'),
      crc32c: crc32cBase64(data),
    };
    buckets.get(session.bucket)!.set(session.name, object);
    return object;
  }

  function handleSessionPut(req: FakeRequest, res: ServerResponse, id: string, session: Session): void {
    const range = String(req.headers['content-range'] ?? '');
    const status = /^bytes \*\/(\d+|\*)$/.exec(range);
    const chunk = /^bytes (\d+)-(-?\d+)\/(\d+|\*)$/.exec(range);
    const incomplete = () => {
      const headers: Record<string, string> = session.received > 0 ? { range: `bytes=0-${session.received - 1}` } : {};
      res.writeHead(308, { 'content-length': 0, ...headers });
      res.end();
    };
    const complete = () => {
      sessions.delete(id);
      sendJson(res, 200, resource(session.bucket, session.name, finalize(session)));
    };
    if (status) {
      if (status[1] !== '*' && Number(status[1]) === session.received) return complete();
      return incomplete();
    }
    if (!chunk) return googleError(res, 400, `Invalid Content-Range: ${range}`, 'invalid');
    const first = Number(chunk[1]);
    const last = Number(chunk[2]);
    const length = Math.max(0, last - first + 1);
    if (req.body.length !== length) return googleError(res, 400, 'Content-Range does not match the request body length', 'invalid');
    if (first !== session.received) return googleError(res, 400, `Invalid request. Expected offset ${session.received}, got ${first}`, 'invalid');
    const total = chunk[3] === '*' ? undefined : Number(chunk[3]);
    // Chunks other than the last must be multiples of 256 KiB.
    if (total === undefined && length % (256 * 1024) !== 0) return googleError(res, 400, 'Chunk size must be a multiple of 256 KiB', 'invalid');
    if (length > 0) session.chunks.push(Buffer.from(req.body));
    session.received += length;
    if (total !== undefined) {
      if (session.received !== total) return googleError(res, 400, `Upload ended at ${session.received} bytes but the total is ${total}`, 'invalid');
      return complete();
    }
    return incomplete();
  }

  const server = await startFake((req, res) => {
    if (tokens.handle(req, res, baseUrl)) return;
    const path = req.url.pathname;

    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
    if (upload) {
      const bucket = decodeURIComponent(upload[1]!);
      const uploadId = req.url.searchParams.get('upload_id');
      // The session URI is the credential for the session: no Authorization needed.
      if (uploadId) {
        const session = sessions.get(uploadId);
        if (req.method === 'DELETE') {
          if (session) {
            sessions.delete(uploadId);
            cancelled++;
          }
          res.writeHead(499, { 'content-length': 0 });
          res.end();
          return;
        }
        if (!session) return googleError(res, 404, 'No such upload session', 'notFound');
        if (req.method === 'PUT' || req.method === 'POST') return handleSessionPut(req, res, uploadId, session);
        return googleError(res, 405, 'Method not allowed', 'invalid');
      }
      if (!tokens.authorize(req, res, SCOPES)) return;
      if (!buckets.has(bucket)) return noSuchBucket(res);
      if (req.method !== 'POST' || req.url.searchParams.get('uploadType') !== 'resumable') {
        return googleError(res, 400, 'This fake supports uploadType=resumable only', 'invalid');
      }
      const metadata = req.body.length ? (JSON.parse(req.body.toString('utf8')) as { name?: string; contentType?: string }) : {};
      const name = req.url.searchParams.get('name') ?? metadata.name;
      if (!name) return googleError(res, 400, 'Required: object name', 'required');
      const id = randomBytes(16).toString('hex');
      sessions.set(id, {
        bucket,
        name,
        contentType: metadata.contentType ?? String(req.headers['x-upload-content-type'] ?? 'application/octet-stream'),
        chunks: [],
        received: 0,
      });
      res.writeHead(200, { location: `${baseUrl}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`, 'content-length': 0 });
      res.end();
      return;
    }

    const objects = /^\/storage\/v1\/b\/([^/]+)\/o(?:\/(.+))?$/.exec(path);
    if (!objects) return googleError(res, 404, `Not Found: ${req.method} ${path}`, 'notFound');
    if (!tokens.authorize(req, res, SCOPES)) return;
    const bucket = decodeURIComponent(objects[1]!);
    const store = buckets.get(bucket);
    if (!store) return noSuchBucket(res);
    const q = req.url.searchParams;

    if (objects[2] === undefined) {
      if (req.method !== 'GET') return googleError(res, 405, 'Method not allowed', 'invalid');
      const prefix = q.get('prefix') ?? '';
      const max = Math.min(Number(q.get('maxResults') ?? 1000) || 1000, pageSize);
      const after = q.get('pageToken') ? Buffer.from(q.get('pageToken')!, 'base64url').toString('utf8') : undefined;
      const names = [...store.keys()].filter((n) => n.startsWith(prefix) && (after === undefined || byteOrder(n, after) > 0)).sort(byteOrder);
      const page = names.slice(0, max);
      const body: Record<string, unknown> = { kind: 'storage#objects', items: page.map((n) => resource(bucket, n, store.get(n)!)) };
      if (names.length > max) body.nextPageToken = Buffer.from(page[page.length - 1]!).toString('base64url');
      return sendJson(res, 200, body);
    }

    const name = decodeURIComponent(objects[2]);
    const object = store.get(name);
    if (req.method === 'DELETE') {
      if (!object) return noSuchObject(res, bucket, name);
      const match = q.get('ifGenerationMatch');
      if (match !== null && Number(match) !== object.generation) return googleError(res, 412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet');
      store.delete(name);
      res.writeHead(204);
      res.end();
      return;
    }
    if (req.method !== 'GET') return googleError(res, 405, 'Method not allowed', 'invalid');
    if (!object) return noSuchObject(res, bucket, name);
    if (q.get('alt') === 'media') {
      return sendBytes(res, 200, object.data, {
        'x-goog-hash': `crc32c=${object.crc32c},md5=${object.md5}`,
        'x-goog-generation': String(object.generation),
        'x-goog-stored-content-length': String(object.data.length),
        'content-type': object.contentType,
      });
    }
    return sendJson(res, 200, resource(bucket, name, object));
  });
  baseUrl = server.url;

  return {
    ...server,
    tokenUri: `${server.url}/token`,
    tokens,
    objects: (bucket) => buckets.get(bucket)!,
    openSessions: () => sessions.size,
    get cancelledSessions() {
      return cancelled;
    },
  };
}
