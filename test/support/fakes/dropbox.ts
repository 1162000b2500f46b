/**
 * A Dropbox API v2 fake, written to the HTTP documentation:
 * - RPC endpoints (api.dropboxapi.com): POST JSON bodies: /2/files/list_folder (path, recursive,
 *   limit; entries, cursor, has_more), /2/files/list_folder/continue (cursor),
 *   /2/files/delete_v2 (path; 409 path_lookup/not_found).
 * - Content endpoints (content.dropboxapi.com): arguments in the Dropbox-API-Arg header, data in
 *   the body: /2/files/upload (at most 150 MB), /2/files/upload_session/start, append_v2
 *   (cursor {session_id, offset}; 409 incorrect_offset), finish (cursor, commit) — the file is
 *   committed only by finish —, /2/files/download (result in the Dropbox-API-Result header;
 *   409 path/not_found).
 * - OAuth: POST /oauth2/token, grant_type=refresh_token with refresh_token, client_id and
 *   client_secret (form body, query string or Basic auth) -> {access_token, expires_in};
 *   400 {error: "invalid_grant"} for an unknown refresh token.
 * - 401 {error_summary: "invalid_access_token/...", error: {.tag: "invalid_access_token"}}.
 * Paths are case-insensitive (path_lower), parent folders are created by uploads. List pages
 * hold at most `pageSize` (10) entries.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { byteOrder, sendJson, startFake, type FakeRequest, type FakeServer } from './http.js';

interface Entry {
  tag: 'file' | 'folder';
  display: string;
  id: string;
  data?: Buffer;
  modified: string;
}

export interface DropboxFake extends FakeServer {
  accessToken: string;
  refreshToken: string;
  appKey: string;
  appSecret: string;
  /** Entries by lower-case path. */
  entries: Map<string, Entry>;
  openSessions(): number;
  calls: Record<string, number>;
  /** Access tokens handed out by /oauth2/token. */
  refreshedTokens: string[];
  /** Token requests that carried parameters in the URL's query string. */
  tokenRequestsWithQuery(): number;
}

const MAX_REQUEST = 150 * 1024 * 1024;

export async function startDropboxFake(options: { pageSize?: number } = {}): Promise<DropboxFake> {
  const pageSize = options.pageSize ?? 10;
  const accessToken = `sl.${randomBytes(24).toString('base64url')}`;
  const refreshToken = randomBytes(24).toString('base64url');
  const appKey = 'appkey123';
  const appSecret = randomBytes(8).toString('hex');
  const tokens = new Set([accessToken]);
  const refreshedTokens: string[] = [];
  const entries = new Map<string, Entry>();
  const sessions = new Map<string, { chunks: Buffer[]; received: number; closed: boolean }>();
  const calls: Record<string, number> = {};
  let withQuery = 0;

  const conflict = (res: ServerResponse, tag: string, inner: string, extra: Record<string, unknown> = {}) =>
    sendJson(res, 409, { error_summary: `${tag}/${inner}/..`, error: { '.tag': tag, [tag]: { '.tag': inner }, ...extra } });
  const badInput = (res: ServerResponse, text: string) => {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`Error in call to API function: ${text}`);
  };
  const lower = (p: string) => p.toLowerCase();
  const metadata = (key: string, e: Entry) =>
    e.tag === 'file'
      ? {
          '.tag': 'file',
          name: e.display.slice(e.display.lastIndexOf('/') + 1),
          id: e.id,
          path_lower: key,
          path_display: e.display,
          size: e.data!.length,
          client_modified: e.modified,
          server_modified: e.modified,
          rev: randomBytes(8).toString('hex'),
          is_downloadable: true,
        }
      : { '.tag': 'folder', name: e.display.slice(e.display.lastIndexOf('/') + 1), id: e.id, path_lower: key, path_display: e.display };

  function commit(path: string, data: Buffer): Record<string, unknown> {
    const parts = path.split('/').slice(1);
    for (let i = 1; i < parts.length; i++) {
      const folder = `/${parts.slice(0, i).join('/')}`;
      if (!entries.has(lower(folder))) entries.set(lower(folder), { tag: 'folder', display: folder, id: `id:${randomBytes(8).toString('hex')}`, modified: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
    }
    const previous = entries.get(lower(path));
    const display = previous ? previous.display.slice(0, previous.display.lastIndexOf('/') + 1) + path.slice(path.lastIndexOf('/') + 1) : path;
    const entry: Entry = { tag: 'file', display, id: previous?.id ?? `id:${randomBytes(8).toString('hex')}`, data, modified: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    entries.set(lower(path), entry);
    const m = metadata(lower(path), entry);
    delete (m as Record<string, unknown>)['.tag'];
    return m;
  }

  const validPath = (p: unknown): p is string => typeof p === 'string' && /^\/[^]*[^/]$/.test(p) && !p.includes('//');

  function listPage(res: ServerResponse, path: string, recursive: boolean, offset: number, limit: number): void {
    const base = lower(path);
    const matching = [...entries.keys()]
      .filter((k) => k.startsWith(`${base}/`) && (recursive || !k.slice(base.length + 1).includes('/')))
      .sort(byteOrder);
    const size = Math.min(limit, pageSize);
    const page = matching.slice(offset, offset + size);
    const cursor = Buffer.from(JSON.stringify({ path, recursive, offset: offset + page.length, limit })).toString('base64url');
    sendJson(res, 200, { entries: page.map((k) => metadata(k, entries.get(k)!)), cursor, has_more: offset + page.length < matching.length });
  }

  function rpc(name: string, args: Record<string, unknown>, res: ServerResponse): void {
    switch (name) {
      case 'files/list_folder': {
        const path = String(args.path ?? '');
        if (path !== '') {
          if (!validPath(path)) return badInput(res, `request body: path: '${path}' did not match pattern`);
          const e = entries.get(lower(path));
          if (!e) return conflict(res, 'path', 'not_found');
          if (e.tag !== 'folder') return conflict(res, 'path', 'not_folder');
        }
        return listPage(res, path, args.recursive === true, 0, Number(args.limit ?? 2000) || 2000);
      }
      case 'files/list_folder/continue': {
        let c: { path: string; recursive: boolean; offset: number; limit: number };
        try {
          c = JSON.parse(Buffer.from(String(args.cursor), 'base64url').toString('utf8')) as typeof c;
        } catch {
          return sendJson(res, 409, { error_summary: 'reset/..', error: { '.tag': 'reset' } });
        }
        return listPage(res, c.path, c.recursive, c.offset, c.limit);
      }
      case 'files/delete_v2': {
        const path = args.path;
        if (!validPath(path)) return badInput(res, 'request body: path: invalid');
        const key = lower(path);
        const e = entries.get(key);
        if (!e) return conflict(res, 'path_lookup', 'not_found');
        const m = metadata(key, e);
        for (const k of [...entries.keys()]) if (k === key || k.startsWith(`${key}/`)) entries.delete(k);
        return sendJson(res, 200, { metadata: m });
      }
      default:
        return badInput(res, `Unknown API function: "${name}"`);
    }
  }

  function content(name: string, args: Record<string, unknown>, body: Buffer, res: ServerResponse): void {
    if (body.length > MAX_REQUEST) return badInput(res, 'request body too large (150 MB per request)');
    const session = (cursor: unknown) => {
      const c = cursor as { session_id?: string; offset?: number } | undefined;
      const s = c?.session_id ? sessions.get(c.session_id) : undefined;
      if (!s) {
        sendJson(res, 409, { error_summary: 'not_found/..', error: { '.tag': 'not_found' } });
        return undefined;
      }
      if (c!.offset !== s.received) {
        sendJson(res, 409, {
          error_summary: 'incorrect_offset/..',
          error: { '.tag': 'incorrect_offset', correct_offset: s.received },
        });
        return undefined;
      }
      return s;
    };
    switch (name) {
      case 'files/upload': {
        if (!validPath(args.path)) return badInput(res, 'HTTP header "Dropbox-API-Arg": path: invalid');
        return sendJson(res, 200, commit(args.path, Buffer.from(body)));
      }
      case 'files/upload_session/start': {
        const id = `pid_upload_session:${randomBytes(16).toString('base64url')}`;
        sessions.set(id, { chunks: body.length ? [Buffer.from(body)] : [], received: body.length, closed: args.close === true });
        return sendJson(res, 200, { session_id: id });
      }
      case 'files/upload_session/append_v2': {
        const s = session(args.cursor);
        if (!s) return;
        if (s.closed) return sendJson(res, 409, { error_summary: 'closed/..', error: { '.tag': 'closed' } });
        if (body.length) s.chunks.push(Buffer.from(body));
        s.received += body.length;
        s.closed = args.close === true;
        return sendJson(res, 200, null);
      }
      case 'files/upload_session/finish': {
        const s = session(args.cursor);
        if (!s) return;
        const c = args.commit as { path?: unknown } | undefined;
        if (!validPath(c?.path)) return badInput(res, 'HTTP header "Dropbox-API-Arg": commit.path: invalid');
        if (body.length) s.chunks.push(Buffer.from(body));
        s.received += body.length;
        sessions.delete((args.cursor as { session_id: string }).session_id);
        return sendJson(res, 200, commit(c.path, Buffer.concat(s.chunks, s.received)));
      }
      case 'files/download': {
        if (!validPath(args.path)) return badInput(res, 'HTTP header "Dropbox-API-Arg": path: invalid');
        const key = lower(args.path);
        const e = entries.get(key);
        if (!e) return conflict(res, 'path', 'not_found');
        if (e.tag !== 'file') return conflict(res, 'path', 'not_file');
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': e.data!.length,
          'dropbox-api-result': JSON.stringify(metadata(key, e)).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`),
        });
        res.end(e.data);
        return;
      }
      default:
        return badInput(res, `Unknown API function: "${name}"`);
    }
  }

  function token(req: FakeRequest, res: ServerResponse): void {
    if (req.url.search) withQuery++;
    const form = new URLSearchParams(req.body.toString('utf8'));
    for (const [k, v] of req.url.searchParams) if (!form.has(k)) form.set(k, v);
    const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''));
    const [basicId, basicSecret] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':') : [];
    const clientId = form.get('client_id') ?? basicId;
    const clientSecret = form.get('client_secret') ?? basicSecret;
    if (form.get('grant_type') !== 'refresh_token') return sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'grant_type must be refresh_token here' });
    if (clientId !== appKey || (clientSecret !== undefined && clientSecret !== appSecret)) return sendJson(res, 400, { error: 'invalid_client', error_description: 'Invalid client_id or client_secret' });
    if (form.get('refresh_token') !== refreshToken) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'refresh token is invalid or revoked' });
    const access = `sl.${randomBytes(24).toString('base64url')}`;
    tokens.add(access);
    refreshedTokens.push(access);
    return sendJson(res, 200, { access_token: access, token_type: 'bearer', expires_in: 14400 });
  }

  const server = await startFake((req, res) => {
    const path = req.url.pathname;
    if (path === '/oauth2/token' && req.method === 'POST') return token(req, res);
    const m = /^\/2\/(.+)$/.exec(path);
    if (!m || req.method !== 'POST') return badInput(res, `unknown endpoint ${req.method} ${path}`);
    const name = m[1]!;
    calls[name] = (calls[name] ?? 0) + 1;
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    if (!bearer || !tokens.has(bearer[1]!)) {
      return sendJson(res, 401, { error_summary: 'invalid_access_token/...', error: { '.tag': 'invalid_access_token' } });
    }
    const argHeader = req.headers['dropbox-api-arg'];
    if (argHeader !== undefined) {
      let args: Record<string, unknown>;
      try {
        args = JSON.parse(String(argHeader)) as Record<string, unknown>;
      } catch {
        return badInput(res, 'HTTP header "Dropbox-API-Arg": could not decode input as JSON');
      }
      return content(name, args, req.body, res);
    }
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return badInput(res, 'Bad HTTP "Content-Type" header; expecting "application/json"');
    let args: Record<string, unknown>;
    try {
      args = JSON.parse(req.body.toString('utf8') || 'null') as Record<string, unknown>;
    } catch {
      return badInput(res, 'request body: could not decode input as JSON');
    }
    return rpc(name, args ?? {}, res);
  });

  return { ...server, accessToken, refreshToken, appKey, appSecret, entries, calls, refreshedTokens, openSessions: () => sessions.size, tokenRequestsWithQuery: () => withQuery };
}
