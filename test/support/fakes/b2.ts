/**
 * A Backblaze B2 native API (v2) fake, written to the B2 documentation:
 * - b2_authorize_account (GET, Basic keyId:key) -> accountId, authorizationToken, allowed,
 *   apiUrl, downloadUrl (both this server), recommendedPartSize, absoluteMinimumPartSize;
 *   wrong key: 401 {status, code: "unauthorized", message}.
 * - Calls to {apiUrl}/b2api/v2/b2_* are POSTs with JSON bodies and the account token in
 *   Authorization; a wrong token: 401 "bad_auth_token".
 * - b2_list_buckets, b2_get_upload_url, b2_upload_file (X-Bz-File-Name percent-encoded,
 *   X-Bz-Content-Sha1 checked), b2_start_large_file, b2_get_upload_part_url, b2_upload_part
 *   (X-Bz-Part-Number, X-Bz-Content-Sha1), b2_finish_large_file (partSha1Array must match,
 *   at least two parts, every part but the last >= absoluteMinimumPartSize),
 *   b2_cancel_large_file, b2_list_unfinished_large_files (namePrefix, startFileId, nextFileId),
 *   b2_list_file_names (latest "upload" versions only; startFileName,
 *   prefix, nextFileName), b2_list_file_versions (every version incl. unfinished large files
 *   as action "start"; nextFileName/nextFileId), b2_delete_file_version (400
 *   file_not_present when missing), and download by name (GET {downloadUrl}/file/{bucket}/{name},
 *   404 not_found).
 * Errors are {status, code, message}. List pages hold at most `pageSize` (10) files.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { byteOrder, sendBytes, sendJson, startFake, type FakeRequest, type FakeServer } from './http.js';

interface Version {
  fileId: string;
  fileName: string;
  bucketId: string;
  action: 'upload' | 'start';
  data?: Buffer;
  sha1: string;
  uploadTimestamp: number;
  parts?: Map<number, { data: Buffer; sha1: string }>;
}

export interface B2Fake extends FakeServer {
  keyId: string;
  key: string;
  /** Every version in the bucket, finished or not. */
  versions(): Version[];
  /** Finished files by name (latest version). */
  files(): Map<string, Buffer>;
  /** Calls by API name, e.g. calls.b2_upload_part. */
  calls: Record<string, number>;
  expireTokens(): void;
  /** Starts a large file as a client killed mid-upload leaves it; returns its fileId. */
  addUnfinishedLargeFile(fileName: string): string;
}

const MIN_PART = 5_000_000;

export async function startB2Fake(options: { bucket: string; pageSize?: number; keyId?: string; key?: string }): Promise<B2Fake> {
  const pageSize = options.pageSize ?? 10;
  const keyId = options.keyId ?? '0051234567890ab0000000001';
  const key = options.key ?? `K005${randomBytes(15).toString('base64url')}`;
  const accountId = '1234567890ab';
  const bucketId = `b2b${randomBytes(10).toString('hex')}`;
  const accountTokens = new Set<string>();
  const expiredTokens = new Set<string>();
  const uploadTokens = new Map<string, { kind: 'file' | 'part'; target: string }>();
  const versions: Version[] = [];
  const calls: Record<string, number> = {};
  let clock = Date.now();
  let baseUrl = '';

  const error = (res: ServerResponse, status: number, code: string, message: string) => sendJson(res, status, { status, code, message });
  const info = (v: Version) => ({
    accountId,
    action: v.action,
    bucketId: v.bucketId,
    contentLength: v.data?.length ?? 0,
    contentSha1: v.sha1,
    contentType: 'application/octet-stream',
    fileId: v.fileId,
    fileInfo: {},
    fileName: v.fileName,
    uploadTimestamp: v.uploadTimestamp,
  });
  const byNameNewest = (a: Version, b: Version) => byteOrder(a.fileName, b.fileName) || b.uploadTimestamp - a.uploadTimestamp;
  const newId = () => `4_z${bucketId}_f${randomBytes(12).toString('hex')}`;

  function accountAuth(req: FakeRequest, res: ServerResponse): boolean {
    const token = String(req.headers.authorization ?? '');
    if (expiredTokens.has(token)) {
      error(res, 401, 'expired_auth_token', 'Authorization token has expired');
      return false;
    }
    if (!accountTokens.has(token)) {
      error(res, 401, 'bad_auth_token', 'Invalid authorization token');
      return false;
    }
    return true;
  }

  function api(name: string, req: FakeRequest, res: ServerResponse): void {
    if (req.method !== 'POST') return error(res, 405, 'method_not_allowed', 'POST only');
    if (!accountAuth(req, res)) return;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      return error(res, 400, 'bad_json', 'Invalid JSON');
    }
    const needBucket = () => {
      if (body.bucketId !== bucketId) {
        error(res, 400, 'bad_request', `Invalid bucketId: ${String(body.bucketId)}`);
        return false;
      }
      return true;
    };
    switch (name) {
      case 'b2_list_buckets': {
        const wanted = body.bucketName as string | undefined;
        const all = [{ accountId, bucketId, bucketName: options.bucket, bucketType: 'allPrivate', bucketInfo: {}, lifecycleRules: [], revision: 1 }];
        return sendJson(res, 200, { buckets: all.filter((b) => !wanted || b.bucketName === wanted) });
      }
      case 'b2_get_upload_url': {
        if (!needBucket()) return;
        const token = `4_upload_${randomBytes(12).toString('hex')}`;
        uploadTokens.set(token, { kind: 'file', target: bucketId });
        return sendJson(res, 200, { bucketId, uploadUrl: `${baseUrl}/b2api/v2/upload/file/${randomBytes(6).toString('hex')}`, authorizationToken: token });
      }
      case 'b2_start_large_file': {
        if (!needBucket()) return;
        const v: Version = { fileId: newId(), fileName: String(body.fileName), bucketId, action: 'start', sha1: 'none', uploadTimestamp: ++clock, parts: new Map() };
        versions.push(v);
        return sendJson(res, 200, info(v));
      }
      case 'b2_get_upload_part_url': {
        const v = versions.find((x) => x.fileId === body.fileId && x.action === 'start');
        if (!v) return error(res, 400, 'bad_request', `No active upload for: ${String(body.fileId)}`);
        const token = `4_part_${randomBytes(12).toString('hex')}`;
        uploadTokens.set(token, { kind: 'part', target: v.fileId });
        return sendJson(res, 200, { fileId: v.fileId, uploadUrl: `${baseUrl}/b2api/v2/upload/part/${randomBytes(6).toString('hex')}`, authorizationToken: token });
      }
      case 'b2_finish_large_file': {
        const v = versions.find((x) => x.fileId === body.fileId && x.action === 'start');
        if (!v) return error(res, 400, 'bad_request', `No active upload for: ${String(body.fileId)}`);
        const hashes = body.partSha1Array as string[];
        const numbers = [...v.parts!.keys()].sort((a, b) => a - b);
        if (numbers.length < 2) return error(res, 400, 'bad_request', 'large files must have at least 2 parts');
        if (!Array.isArray(hashes) || hashes.length !== numbers.length) return error(res, 400, 'bad_request', 'partSha1Array does not match the parts uploaded');
        for (let i = 0; i < numbers.length; i++) {
          const part = v.parts!.get(i + 1);
          if (!part) return error(res, 400, 'bad_request', `Part number ${i + 1} is missing`);
          if (part.sha1 !== hashes[i]) return error(res, 400, 'bad_request', `Sha1 mismatch for part ${i + 1}`);
          if (i < numbers.length - 1 && part.data.length < MIN_PART) return error(res, 400, 'bad_request', `Part number ${i + 1} is smaller than the minimum part size`);
        }
        v.data = Buffer.concat(numbers.map((n) => v.parts!.get(n)!.data));
        v.parts = undefined;
        v.action = 'upload';
        return sendJson(res, 200, { ...info(v), contentSha1: 'none' });
      }
      case 'b2_cancel_large_file': {
        const i = versions.findIndex((x) => x.fileId === body.fileId && x.action === 'start');
        if (i < 0) return error(res, 400, 'bad_request', `No active upload for: ${String(body.fileId)}`);
        const [v] = versions.splice(i, 1);
        return sendJson(res, 200, { fileId: v!.fileId, accountId, bucketId, fileName: v!.fileName });
      }
      case 'b2_list_unfinished_large_files': {
        if (!needBucket()) return;
        const prefix = String(body.namePrefix ?? '');
        const max = Math.min(Number(body.maxFileCount ?? 100) || 100, pageSize);
        // Ordered by fileId, which B2 documents as the paging order (startFileId is inclusive).
        const open = versions.filter((v) => v.action === 'start' && v.fileName.startsWith(prefix)).sort((a, b) => byteOrder(a.fileId, b.fileId));
        const startId = body.startFileId as string | undefined;
        const at = startId ? open.findIndex((v) => byteOrder(v.fileId, startId) >= 0) : 0;
        const from = at < 0 ? open.length : at;
        const page = open.slice(from, from + max);
        return sendJson(res, 200, { files: page.map(info), nextFileId: open[from + max]?.fileId ?? null });
      }
      case 'b2_list_file_names': {
        if (!needBucket()) return;
        const prefix = String(body.prefix ?? '');
        const start = String(body.startFileName ?? '');
        const max = Math.min(Number(body.maxFileCount ?? 100) || 100, pageSize);
        const latest = new Map<string, Version>();
        for (const v of versions) {
          if (v.action !== 'upload') continue;
          const current = latest.get(v.fileName);
          if (!current || current.uploadTimestamp < v.uploadTimestamp) latest.set(v.fileName, v);
        }
        const names = [...latest.keys()].filter((n) => n.startsWith(prefix) && byteOrder(n, start) >= 0).sort(byteOrder);
        const page = names.slice(0, max);
        return sendJson(res, 200, { files: page.map((n) => info(latest.get(n)!)), nextFileName: names[max] ?? null });
      }
      case 'b2_list_file_versions': {
        if (!needBucket()) return;
        const prefix = String(body.prefix ?? '');
        const startName = String(body.startFileName ?? '');
        const startId = body.startFileId as string | undefined;
        const max = Math.min(Number(body.maxFileCount ?? 100) || 100, pageSize);
        const sorted = versions.filter((v) => v.fileName.startsWith(prefix)).sort(byNameNewest);
        let from = sorted.findIndex((v) => byteOrder(v.fileName, startName) >= 0);
        if (from < 0) from = sorted.length;
        if (startId) {
          const at = sorted.findIndex((v) => v.fileId === startId);
          if (at >= 0) from = at;
        }
        const page = sorted.slice(from, from + max);
        const next = sorted[from + max];
        return sendJson(res, 200, { files: page.map(info), nextFileName: next?.fileName ?? null, nextFileId: next?.fileId ?? null });
      }
      case 'b2_delete_file_version': {
        const i = versions.findIndex((v) => v.fileId === body.fileId && v.fileName === body.fileName);
        if (i < 0) return error(res, 400, 'file_not_present', `File not present: ${String(body.fileName)} ${String(body.fileId)}`);
        versions.splice(i, 1);
        return sendJson(res, 200, { fileId: body.fileId, fileName: body.fileName });
      }
      default:
        return error(res, 404, 'not_found', `unknown API ${name}`);
    }
  }

  function upload(kind: 'file' | 'part', req: FakeRequest, res: ServerResponse): void {
    const grant = uploadTokens.get(String(req.headers.authorization ?? ''));
    if (!grant || grant.kind !== kind) return error(res, 401, 'bad_auth_token', 'Invalid upload authorization token');
    const length = Number(req.headers['content-length']);
    if (!Number.isFinite(length) || length !== req.body.length) return error(res, 400, 'bad_request', 'Missing or wrong Content-Length');
    const hash = createHash('sha1').update(req.body).digest('hex');
    const claimed = String(req.headers['x-bz-content-sha1'] ?? '');
    if (claimed !== hash && claimed !== 'do_not_verify') return error(res, 400, 'bad_request', 'Sha1 did not match data received');
    if (kind === 'file') {
      const fileName = decodeURIComponent(String(req.headers['x-bz-file-name'] ?? ''));
      if (!fileName) return error(res, 400, 'bad_request', 'Missing X-Bz-File-Name');
      const v: Version = { fileId: newId(), fileName, bucketId, action: 'upload', data: Buffer.from(req.body), sha1: hash, uploadTimestamp: ++clock };
      versions.push(v);
      return sendJson(res, 200, info(v));
    }
    const v = versions.find((x) => x.fileId === grant.target && x.action === 'start');
    if (!v) return error(res, 400, 'bad_request', 'No active upload for this part URL');
    const partNumber = Number(req.headers['x-bz-part-number']);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) return error(res, 400, 'bad_request', 'Invalid X-Bz-Part-Number');
    v.parts!.set(partNumber, { data: Buffer.from(req.body), sha1: hash });
    return sendJson(res, 200, { fileId: v.fileId, partNumber, contentLength: req.body.length, contentSha1: hash, uploadTimestamp: ++clock });
  }

  const server = await startFake((req, res) => {
    const path = req.url.pathname;
    const m = /^\/b2api\/v2\/([a-z0-9_]+)$/.exec(path);
    if (m) calls[m[1]!] = (calls[m[1]!] ?? 0) + 1;
    if (path === '/b2api/v2/b2_authorize_account') {
      const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''));
      const [id, secret] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':') : [];
      if (id !== keyId || secret !== key) return error(res, 401, 'unauthorized', 'The applicationKeyId and/or the applicationKey are wrong.');
      const token = `4_${randomBytes(20).toString('hex')}`;
      accountTokens.add(token);
      return sendJson(res, 200, {
        accountId,
        authorizationToken: token,
        allowed: { bucketId: null, bucketName: null, capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles', 'deleteFiles'], namePrefix: null },
        apiUrl: baseUrl,
        downloadUrl: baseUrl,
        recommendedPartSize: 100_000_000,
        absoluteMinimumPartSize: MIN_PART,
        s3ApiUrl: baseUrl,
      });
    }
    if (path.startsWith('/b2api/v2/upload/file/')) {
      calls.b2_upload_file = (calls.b2_upload_file ?? 0) + 1;
      return upload('file', req, res);
    }
    if (path.startsWith('/b2api/v2/upload/part/')) {
      calls.b2_upload_part = (calls.b2_upload_part ?? 0) + 1;
      return upload('part', req, res);
    }
    if (m) return api(m[1]!, req, res);
    const download = /^\/file\/([^/]+)\/(.+)$/.exec(path);
    if (download && req.method === 'GET') {
      if (!accountAuth(req, res)) return;
      const name = download[2]!.split('/').map(decodeURIComponent).join('/');
      if (decodeURIComponent(download[1]!) !== options.bucket) return error(res, 404, 'not_found', `Bucket name is wrong: ${download[1]}`);
      const latest = versions.filter((v) => v.fileName === name && v.action === 'upload').sort((a, b) => b.uploadTimestamp - a.uploadTimestamp)[0];
      if (!latest) return error(res, 404, 'not_found', `File with such name does not exist: ${name}`);
      return sendBytes(res, 200, latest.data!, {
        'x-bz-file-name': encodeURIComponent(name),
        'x-bz-file-id': latest.fileId,
        'x-bz-content-sha1': latest.sha1,
        'x-bz-upload-timestamp': String(latest.uploadTimestamp),
      });
    }
    return error(res, 404, 'not_found', `no such path ${path}`);
  });
  baseUrl = server.url;

  return {
    ...server,
    keyId,
    key,
    calls,
    versions: () => [...versions],
    files: () => {
      const out = new Map<string, Buffer>();
      for (const v of [...versions].sort((a, b) => a.uploadTimestamp - b.uploadTimestamp)) if (v.action === 'upload') out.set(v.fileName, v.data!);
      return out;
    },
    addUnfinishedLargeFile: (fileName) => {
      const v: Version = { fileId: newId(), fileName, bucketId, action: 'start', sha1: 'none', uploadTimestamp: ++clock, parts: new Map() };
      versions.push(v);
      return v.fileId;
    },
    expireTokens: () => {
      for (const t of accountTokens) expiredTokens.add(t);
      accountTokens.clear();
    },
  };
}
