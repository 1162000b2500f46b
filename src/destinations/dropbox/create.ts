/**
 * The dropbox destination's instance: a folder through the official dropbox SDK, upload sessions
 * for long streams. Loaded only when a job uses the destination (index.ts declares it).
 *
 * get streams files/download itself: the SDK's filesDownload buffers the whole file in memory.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dropbox, DropboxAuth, files } from 'dropbox';
import { DestinationError, ObjectNotFoundError } from '../../errors.js';
import { readParts } from '../cloud/parts.js';
import { networkCode, safeCause, serverSaid } from '../../lib/sdk-errors.js';
import { isAbort, streamFailure } from '../cloud/put-errors.js';
import type { Destination, DestinationOptions, StoredObject } from '../types.js';
import type { DropboxOptions } from './schema.js';

const MIB = 1024 * 1024;
const CONTENT_URL = 'https://content.dropboxapi.com';

/** "/backups" form: leading slash, no trailing slash; "" is the root. */
export function normaliseFolder(folder: string | undefined): string {
  const trimmed = (folder ?? '/backups').replace(/^\/+|\/+$/g, '');
  return trimmed ? `/${trimmed}` : '';
}

/** Dropbox-API-Arg must be ASCII: other characters go as \uXXXX escapes (as the SDK does). */
function headerSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The fetch the SDK uses: maps the API hosts onto `endpoint` when set, sends the token
 * request's parameters as a form body (the SDK puts refresh_token and app_secret in the URL,
 * where proxies log them), and waits out 429/503 answers as Dropbox asks (Retry-After).
 */
export function dropboxFetch(endpoint: string | undefined): typeof fetch {
  const base = endpoint?.replace(/\/+$/, '');
  return async (input, init) => {
    let url = String(input instanceof Request ? input.url : input);
    if (base) url = url.replace(/^https:\/\/(api|content|notify)\.dropboxapi\.com/, base);
    let request = init;
    const parsed = new URL(url);
    if (parsed.pathname === '/oauth2/token' && parsed.search) {
      request = { ...init, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: parsed.searchParams.toString() };
      parsed.search = '';
      url = parsed.toString();
    }
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(url, { ...request, signal: request?.signal ?? AbortSignal.timeout(300_000) });
      if ((response.status !== 429 && response.status !== 503) || attempt >= 4) return response;
      const wait = Math.min(Number(response.headers.get('retry-after') ?? 1) || 1, 60);
      await response.body?.cancel();
      await sleep(wait * 1000);
    }
  };
}

interface DropboxFailure {
  status?: number;
  summary?: string;
}

function failureOf(error: unknown): DropboxFailure {
  const e = error as { status?: unknown; error?: unknown };
  const status = typeof e.status === 'number' ? e.status : undefined;
  const body = e.error as { error_summary?: unknown; error?: unknown; error_description?: unknown } | string | undefined;
  let summary: string | undefined;
  if (typeof body === 'string') summary = serverSaid(body);
  else if (body && typeof body.error_summary === 'string') summary = serverSaid(body.error_summary);
  else if (body && typeof body.error === 'string') summary = serverSaid([body.error, body.error_description].filter((v) => typeof v === 'string').join(': '));
  return { status, summary };
}

export function create(options: DestinationOptions<ReturnType<typeof DropboxOptions>>): Destination {
  const folder = normaliseFolder(options.folder);
  const chunkSize = (options.chunk_size_mb ?? 8) * MIB;
  const fetchImpl = dropboxFetch(options.endpoint);
  let clientPromise: Promise<{ dbx: Dropbox; auth: DropboxAuth }> | undefined;
  const pathOf = (key: string) => `${folder}/${key}`;

  const fail = (message: string, error?: unknown) =>
    new DestinationError(message, { plugin: options.id, cause: error === undefined ? undefined : safeCause(error) });

  function explain(action: string, error: unknown): DestinationError {
    if (error instanceof DestinationError) return error;
    const { status, summary } = failureOf(error);
    if (status === 401) {
      if (summary?.startsWith('missing_scope')) {
        return fail(`${action}: the Dropbox app lacks a permission (HTTP 401 ${summary}); enable files.content.write, files.content.read and files.metadata.read, then generate a new token`, error);
      }
      return fail(`${action}: Dropbox rejected the access token (HTTP 401 ${summary ?? 'unauthorized'}); ${options.refresh_token ? 'check refresh_token and app_key' : 'tokens expire: use refresh_token + app_key for unattended runs'}`, error);
    }
    if (status === 400 && summary && /invalid_grant|invalid_client|invalid_request/.test(summary)) {
      return fail(`${action}: Dropbox refused the refresh token (HTTP 400 ${summary}); check refresh_token, app_key and app_secret`, error);
    }
    if (status === 409 && summary?.includes('insufficient_space')) return fail(`${action}: the Dropbox is full (${summary})`, error);
    const net = networkCode(error);
    if (net) return fail(`${action}: cannot reach Dropbox${options.endpoint ? ` at ${options.endpoint}` : ''} (${net})`, error);
    if (status) return fail(`${action} failed: HTTP ${status} ${summary ?? ''}`.trimEnd(), error);
    return fail(`${action} failed: ${serverSaid(error instanceof Error ? error.message : String(error))}`, error);
  }

  function client(): Promise<{ dbx: Dropbox; auth: DropboxAuth }> {
    clientPromise ??= (async () => {
      const { Dropbox, DropboxAuth } = await import('dropbox');
      const auth = new DropboxAuth({
        fetch: fetchImpl,
        ...(options.access_token ? { accessToken: options.access_token } : {}),
        ...(options.refresh_token ? { refreshToken: options.refresh_token } : {}),
        ...(options.app_key ? { clientId: options.app_key } : {}),
        ...(options.app_secret ? { clientSecret: options.app_secret } : {}),
      });
      return { dbx: new Dropbox({ auth }), auth };
    })();
    return clientPromise;
  }

  const notFound = (error: unknown, tag: string) => {
    const { status, summary } = failureOf(error);
    return status === 409 && (summary?.startsWith(`${tag}/not_found`) ?? false);
  };

  async function upload(dbx: Dropbox, path: string, body: Readable, signal: AbortSignal): Promise<number> {
    const commit: files.CommitInfo = { path, mode: { '.tag': 'overwrite' }, autorename: false, mute: true };
    let sessionId: string | undefined;
    let stored: files.FileMetadata | undefined;
    let size = 0;
    for await (const part of readParts(body, chunkSize, signal)) {
      size = part.offset + part.data.length;
      if (part.last && sessionId === undefined) {
        stored = (await dbx.filesUpload({ ...commit, contents: part.data })).result;
      } else if (sessionId === undefined) {
        sessionId = (await dbx.filesUploadSessionStart({ contents: part.data, close: false })).result.session_id;
      } else if (!part.last) {
        await dbx.filesUploadSessionAppendV2({ cursor: { session_id: sessionId, offset: part.offset }, contents: part.data, close: false });
      } else {
        signal.throwIfAborted();
        stored = (await dbx.filesUploadSessionFinish({ cursor: { session_id: sessionId, offset: part.offset }, commit, contents: part.data })).result;
      }
      signal.throwIfAborted();
    }
    if (!stored) throw new Error('upload ended without a commit');
    if (stored.size !== size) throw new Error(`Dropbox stored ${stored.size} bytes, ${size} were sent`);
    return size;
  }

  async function* listFolder(dbx: Dropbox, path: string): AsyncIterable<files.FileMetadataReference> {
    let page;
    try {
      page = (await dbx.filesListFolder({ path, recursive: true, include_deleted: false, limit: 2000 })).result;
    } catch (error) {
      if (notFound(error, 'path')) return;
      throw error;
    }
    for (;;) {
      for (const entry of page.entries) if (entry['.tag'] === 'file') yield entry;
      if (!page.has_more) return;
      page = (await dbx.filesListFolderContinue({ cursor: page.cursor })).result;
    }
  }

  async function removeEmptyFolders(dbx: Dropbox, dirs: Iterable<string>): Promise<void> {
    const all = new Set<string>();
    for (const dir of dirs) {
      const parts = dir.split('/');
      for (let i = 1; i <= parts.length; i++) all.add(parts.slice(0, i).join('/'));
    }
    for (const dir of [...all].sort((a, b) => b.split('/').length - a.split('/').length)) {
      try {
        const listing = (await dbx.filesListFolder({ path: pathOf(dir), limit: 1 })).result;
        if (listing.entries.length === 0 && !listing.has_more) await dbx.filesDeleteV2({ path: pathOf(dir) });
      } catch {
        // an empty folder left behind is harmless
      }
    }
  }

  return {
    async check() {
      try {
        const { dbx } = await client();
        await dbx.filesListFolder({ path: folder, limit: 1 }).catch((error: unknown) => {
          if (!notFound(error, 'path')) throw error; // created on the first upload
        });
      } catch (error) {
        throw explain(`checking Dropbox folder ${folder || '/'}`, error);
      }
    },

    async put(key, body, { signal }) {
      try {
        signal.throwIfAborted();
        const { dbx } = await client();
        return { size: await upload(dbx, pathOf(key), body, signal) };
      } catch (error) {
        body.destroy();
        if (isAbort(error, signal) || body.errored) throw fail(`storing ${key}: ${streamFailure(body.errored ?? error, signal)}`, error);
        throw explain(`storing ${key}`, error);
      }
    },

    async *list(prefix): AsyncIterable<StoredObject> {
      const dir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
      const start = dir ? pathOf(dir) : folder;
      try {
        const { dbx } = await client();
        for await (const entry of listFolder(dbx, start)) {
          const display = entry.path_display ?? '';
          if (!display.toLowerCase().startsWith(`${folder.toLowerCase()}/`)) continue;
          const key = display.slice(folder.length + 1);
          if (!key.startsWith(prefix)) continue;
          yield { key, size: entry.size, lastModified: new Date(entry.server_modified) };
        }
      } catch (error) {
        throw explain(`listing ${prefix}`, error);
      }
    },

    async get(key) {
      let response: Response;
      try {
        const { auth } = await client();
        await auth.checkAndRefreshAccessToken();
        response = await fetchImpl(`${CONTENT_URL}/2/files/download`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${auth.getAccessToken()}`, 'Dropbox-API-Arg': headerSafeJson({ path: pathOf(key) }) },
        });
      } catch (error) {
        throw explain(`reading ${key}`, error);
      }
      if (!response.ok || !response.body) {
        const text = await response.text().catch(() => '');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // plain text error
        }
        const error = Object.assign(new Error(`HTTP ${response.status}`), { status: response.status, error: parsed });
        if (notFound(error, 'path')) throw new ObjectNotFoundError(key, { plugin: options.id });
        throw explain(`reading ${key}`, error);
      }
      return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    },

    async delete(keys) {
      const { dbx } = await client();
      const dirs = new Set<string>();
      for (const key of keys) {
        try {
          await dbx.filesDeleteV2({ path: pathOf(key) });
        } catch (error) {
          if (!notFound(error, 'path_lookup')) throw explain(`deleting ${key}`, error);
        }
        if (key.includes('/')) dirs.add(key.slice(0, key.lastIndexOf('/')));
      }
      await removeEmptyFolders(dbx, dirs);
    },
  };
}
