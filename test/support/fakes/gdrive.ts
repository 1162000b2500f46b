/**
 * A Google Drive v3 API fake, written to the documentation:
 * - files.list: GET /drive/v3/files?q=...&pageSize&pageToken -> {kind: "drive#fileList",
 *   files, nextPageToken}. The query language subset used by backup tools: clauses joined by
 *   "and": `'<id>' in parents`, `name = '<s>'`, `mimeType = '<s>'`, `mimeType != '<s>'`,
 *   `trashed = false`; string literals escape ' and \ with a backslash.
 * - files.create (metadata only, e.g. folders): POST /drive/v3/files.
 * - files.get: GET /drive/v3/files/{id} (metadata) or ?alt=media (content).
 * - files.delete: DELETE /drive/v3/files/{id} -> 204 (the folder's descendants go too);
 *   404 {reason: "notFound", message: "File not found: <id>."}.
 * - Resumable upload ("Upload file data", uploadType=resumable): POST
 *   /upload/drive/v3/files?uploadType=resumable with the metadata answers 200 and the session
 *   URI in Location; PUT chunks with Content-Range ("bytes a-b/*" while the size is unknown,
 *   multiples of 256 KiB; "bytes a-b/total" or "bytes * /total" for the last); 308 with
 *   Range "bytes=0-n" until the last chunk; the file exists only once the upload completes.
 * - 401 "Invalid Credentials" without a valid token. Pages hold at most `pageSize` (10) files.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { GoogleTokenIssuer, googleError, type ServiceAccount } from './google-oauth.js';
import { sendBytes, sendJson, startFake, type FakeRequest, type FakeServer } from './http.js';

const SCOPES = ['https://www.googleapis.com/auth/drive', 'https://www.googleapis.com/auth/drive.file'];
export const FOLDER_MIME = 'application/vnd.google-apps.folder';

export interface DriveFile {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  data?: Buffer;
  createdTime: string;
  modifiedTime: string;
}

interface Session {
  name: string;
  parents: string[];
  mimeType: string;
  chunks: Buffer[];
  received: number;
}

export interface DriveFake extends FakeServer {
  tokenUri: string;
  tokens: GoogleTokenIssuer;
  files: Map<string, DriveFile>;
  addFolder(id: string, name: string): void;
  openSessions(): number;
  /** The path of a file from the given root folder ("a/b/c"). */
  pathOf(file: DriveFile, rootId: string): string | undefined;
}

type Clause = (f: DriveFile) => boolean;

function parseQuery(q: string): Clause[] {
  const clauses: Clause[] = [];
  const str = String.raw`'((?:[^'\\]|\\.)*)'`;
  const unescape = (s: string) => s.replace(/\\(.)/g, '$1');
  for (const part of q.split(/\s+and\s+/i)) {
    const text = part.trim();
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^${str}\\s+in\\s+parents$`).exec(text))) {
      const id = unescape(m[1]!);
      clauses.push((f) => f.parents.includes(id));
    } else if ((m = new RegExp(`^(name|mimeType)\\s*(=|!=)\\s*${str}$`).exec(text))) {
      const field = m[1] as 'name' | 'mimeType';
      const value = unescape(m[3]!);
      clauses.push(m[2] === '=' ? (f) => f[field] === value : (f) => f[field] !== value);
    } else if (/^trashed\s*=\s*false$/.test(text)) {
      clauses.push(() => true);
    } else {
      throw new Error(`Invalid Value: unsupported query clause "${text}"`);
    }
  }
  return clauses;
}

export async function startDriveFake(options: { accounts: ServiceAccount[]; pageSize?: number }): Promise<DriveFake> {
  const pageSize = options.pageSize ?? 10;
  const files = new Map<string, DriveFile>();
  const sessions = new Map<string, Session>();
  const tokens = new GoogleTokenIssuer('/token');
  for (const a of options.accounts) tokens.register(a);
  let baseUrl = '';
  const newId = () => randomBytes(12).toString('base64url');

  const resource = (f: DriveFile) => ({
    kind: 'drive#file',
    id: f.id,
    name: f.name,
    mimeType: f.mimeType,
    parents: f.parents,
    trashed: false,
    createdTime: f.createdTime,
    modifiedTime: f.modifiedTime,
    capabilities: { canAddChildren: f.mimeType === FOLDER_MIME },
    ...(f.data ? { size: String(f.data.length) } : {}),
  });
  const notFound = (res: ServerResponse, id: string) =>
    googleError(res, 404, `File not found: ${id}.`, 'notFound', { locationType: 'parameter', location: 'fileId' });

  function create(name: string, mimeType: string, parents: string[], data?: Buffer): DriveFile {
    const now = new Date().toISOString();
    const file: DriveFile = { id: newId(), name, mimeType, parents, createdTime: now, modifiedTime: now, ...(data ? { data } : {}) };
    files.set(file.id, file);
    return file;
  }

  function remove(id: string): void {
    files.delete(id);
    for (const f of [...files.values()]) if (f.parents.includes(id)) remove(f.id);
  }

  function handleSessionPut(req: FakeRequest, res: ServerResponse, id: string, s: Session): void {
    const range = String(req.headers['content-range'] ?? '');
    const status = /^bytes \*\/(\d+|\*)$/.exec(range);
    const chunk = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range);
    const incomplete = () => {
      res.writeHead(308, { 'content-length': 0, ...(s.received > 0 ? { range: `bytes=0-${s.received - 1}` } : {}) });
      res.end();
    };
    const complete = () => {
      sessions.delete(id);
      sendJson(res, 200, resource(create(s.name, s.mimeType, s.parents, Buffer.concat(s.chunks, s.received))));
    };
    if (status) return status[1] !== '*' && Number(status[1]) === s.received ? complete() : incomplete();
    if (!chunk) return googleError(res, 400, `Invalid Content-Range: ${range}`, 'badContent');
    const first = Number(chunk[1]);
    const length = Number(chunk[2]) - first + 1;
    if (length <= 0 || req.body.length !== length) return googleError(res, 400, 'Content-Range does not match the body', 'badContent');
    if (first !== s.received) return googleError(res, 400, `Expected offset ${s.received}`, 'badContent');
    const total = chunk[3] === '*' ? undefined : Number(chunk[3]);
    if (total === undefined && length % (256 * 1024) !== 0) return googleError(res, 400, 'Chunk size must be a multiple of 256 KiB', 'badContent');
    s.chunks.push(Buffer.from(req.body));
    s.received += length;
    if (total === undefined) return incomplete();
    if (total !== s.received) return googleError(res, 400, `Upload ended at ${s.received} bytes, total says ${total}`, 'badContent');
    return complete();
  }

  const server = await startFake((req, res) => {
    if (tokens.handle(req, res, baseUrl)) return;
    const path = req.url.pathname;
    const q = req.url.searchParams;

    if (path === '/upload/drive/v3/files') {
      const uploadId = q.get('upload_id');
      if (uploadId) {
        const s = sessions.get(uploadId);
        if (!s) return googleError(res, 404, 'Upload session not found', 'notFound');
        if (req.method === 'PUT') return handleSessionPut(req, res, uploadId, s);
        return googleError(res, 405, 'Method not allowed', 'badRequest');
      }
      if (!tokens.authorize(req, res, SCOPES)) return;
      if (req.method !== 'POST' || q.get('uploadType') !== 'resumable') return googleError(res, 400, 'This fake supports uploadType=resumable only', 'badRequest');
      const meta = JSON.parse(req.body.toString('utf8') || '{}') as { name?: string; parents?: string[]; mimeType?: string };
      const parents = meta.parents ?? [];
      for (const p of parents) if (files.get(p)?.mimeType !== FOLDER_MIME) return notFound(res, p);
      const id = randomBytes(16).toString('hex');
      sessions.set(id, { name: meta.name ?? 'Untitled', parents, mimeType: meta.mimeType ?? 'application/octet-stream', chunks: [], received: 0 });
      res.writeHead(200, { location: `${baseUrl}/upload/drive/v3/files?uploadType=resumable&upload_id=${id}`, 'content-length': 0 });
      res.end();
      return;
    }

    const m = /^\/drive\/v3\/files(?:\/([^/]+))?$/.exec(path);
    if (!m) return googleError(res, 404, `Not Found: ${path}`, 'notFound');
    if (!tokens.authorize(req, res, SCOPES)) return;

    if (m[1] === undefined) {
      if (req.method === 'GET') {
        let clauses: Clause[];
        try {
          clauses = parseQuery(q.get('q') ?? '');
        } catch (error) {
          return googleError(res, 400, (error as Error).message, 'invalid', { locationType: 'parameter', location: 'q' });
        }
        const max = Math.min(Number(q.get('pageSize') ?? 100) || 100, pageSize);
        const start = Number(q.get('pageToken') ?? 0);
        const matching = [...files.values()].filter((f) => clauses.every((c) => c(f)));
        const page = matching.slice(start, start + max);
        const body: Record<string, unknown> = { kind: 'drive#fileList', incompleteSearch: false, files: page.map(resource) };
        if (start + max < matching.length) body.nextPageToken = String(start + max);
        return sendJson(res, 200, body);
      }
      if (req.method === 'POST') {
        const meta = JSON.parse(req.body.toString('utf8') || '{}') as { name?: string; parents?: string[]; mimeType?: string };
        const parents = meta.parents ?? [];
        for (const p of parents) if (files.get(p)?.mimeType !== FOLDER_MIME) return notFound(res, p);
        if (meta.mimeType !== FOLDER_MIME) return googleError(res, 400, 'This fake creates folders only without media', 'badRequest');
        return sendJson(res, 200, resource(create(meta.name ?? 'Untitled', FOLDER_MIME, parents)));
      }
      return googleError(res, 405, 'Method not allowed', 'badRequest');
    }

    const id = decodeURIComponent(m[1]);
    const file = files.get(id);
    if (!file) return notFound(res, id);
    if (req.method === 'DELETE') {
      remove(id);
      res.writeHead(204);
      res.end();
      return;
    }
    if (req.method !== 'GET') return googleError(res, 405, 'Method not allowed', 'badRequest');
    if (q.get('alt') === 'media') {
      if (!file.data) return googleError(res, 403, 'Only files with binary content can be downloaded.', 'fileNotDownloadable');
      return sendBytes(res, 200, file.data);
    }
    return sendJson(res, 200, resource(file));
  });
  baseUrl = server.url;

  return {
    ...server,
    tokenUri: `${server.url}/token`,
    tokens,
    files,
    addFolder(id, name) {
      const now = new Date().toISOString();
      files.set(id, { id, name, mimeType: FOLDER_MIME, parents: [], createdTime: now, modifiedTime: now });
    },
    openSessions: () => sessions.size,
    pathOf(file, rootId) {
      const names: string[] = [];
      let current: DriveFile | undefined = file;
      while (current && current.id !== rootId) {
        names.unshift(current.name);
        current = current.parents[0] ? files.get(current.parents[0]) : undefined;
      }
      return current ? names.join('/') : undefined;
    },
  };
}
