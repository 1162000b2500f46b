/**
 * The gdrive destination's instance: a folder through the Drive v3 API (@googleapis/drive) with a
 * service account. Loaded only when a job uses the destination (index.ts declares it).
 *
 * The googleapis client only does multipart uploads, so the resumable session protocol is spoken
 * here, through the client's authenticated transport.
 */
import { Readable } from 'node:stream';
import type { drive_v3 } from '@googleapis/drive';
import { DestinationError, ObjectNotFoundError } from '../../errors.js';
import { readParts } from '../cloud/parts.js';
import { ServiceAccountError, ServiceAccountTokens, readServiceAccountKey } from '../cloud/google-service-account.js';
import { findInChain, networkCode, safeCause, serverSaid } from '../../lib/sdk-errors.js';
import { isAbort, streamFailure } from '../cloud/put-errors.js';
import type { Destination, DestinationOptions, StoredObject } from '../types.js';
import type { GdriveOptions } from './schema.js';

const SCOPE = 'https://www.googleapis.com/auth/drive';
const FOLDER = 'application/vnd.google-apps.folder';
const MIB = 1024 * 1024;
const FILE_FIELDS = 'id, name, mimeType, size, modifiedTime';

interface Client {
  api: drive_v3.Drive;
  request: <T>(options: { url: string; method: string; data?: unknown; headers?: Record<string, string>; signal?: AbortSignal }) => Promise<{ status: number; data: T; headers: unknown }>;
  email: string;
  rootUrl: string;
}

/** Drive query string literal: backslash and quote escaped. */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  const h = headers as { get?: (n: string) => string | null } & Record<string, unknown>;
  if (typeof h.get === 'function') return h.get(name) ?? undefined;
  const value = h[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
}

export function create(options: DestinationOptions<ReturnType<typeof GdriveOptions>>): Destination {
  const chunkSize = (options.chunk_size_mb ?? 8) * MIB;
  const allDrives = options.supports_all_drives ?? true;
  const driveFlags = allDrives ? { supportsAllDrives: true } : {};
  const listFlags = allDrives ? { supportsAllDrives: true, includeItemsFromAllDrives: true, corpora: 'allDrives' } : {};
  let clientPromise: Promise<Client> | undefined;
  /** Folder path ("a/b") -> id; "" is folder_id. Promises, so parallel puts create a folder once. */
  const folders = new Map<string, Promise<string>>([['', Promise.resolve(options.folder_id)]]);

  const fail = (message: string, error?: unknown) =>
    new DestinationError(message, { plugin: options.id, cause: error === undefined ? undefined : safeCause(error) });

  const statusOf = (error: unknown) => Number((error as { status?: unknown }).status ?? (error as { response?: { status?: unknown } }).response?.status);
  const reasonOf = (error: unknown): { message?: string; reason?: string } => {
    const data = (error as { response?: { data?: unknown } }).response?.data as { error?: { message?: string; errors?: { reason?: string }[] } } | undefined;
    return { message: data?.error?.message, reason: data?.error?.errors?.[0]?.reason };
  };

  function explain(action: string, error: unknown): DestinationError {
    if (error instanceof DestinationError) return error;
    const keyError = findInChain(error, ServiceAccountError);
    if (keyError) return fail(`${action}: ${keyError.message}`, keyError);
    const status = statusOf(error);
    const { message, reason } = reasonOf(error);
    const detail = serverSaid(message ?? (error instanceof Error ? error.message : String(error)));
    if (status === 401) return fail(`${action}: Google Drive rejected the credentials (HTTP 401 ${detail}); check creds_file`, error);
    if (status === 403 && reason === 'storageQuotaExceeded') {
      return fail(
        `${action}: the service account has no Drive storage of its own (HTTP 403 ${detail}); use a folder on a shared drive (the files then belong to the drive)`,
        error,
      );
    }
    if (status === 403) return fail(`${action}: permission denied (HTTP 403 ${detail}); share folder ${options.folder_id} with the service account as Editor`, error);
    const code = networkCode(error);
    if (code) return fail(`${action}: cannot reach Google Drive at ${options.endpoint ?? 'https://www.googleapis.com'} (${code})`, error);
    return fail(`${action} failed: ${Number.isFinite(status) && status > 0 ? `HTTP ${status} ` : ''}${detail}`, error);
  }

  async function client(): Promise<Client> {
    clientPromise ??= (async () => {
      const key = await readServiceAccountKey(options.creds_file);
      const tokens = new ServiceAccountTokens(key, [SCOPE]);
      const { drive, auth } = await import('@googleapis/drive');
      const oauth = new auth.OAuth2();
      oauth.refreshHandler = () => tokens.token();
      const rootUrl = options.endpoint ? `${options.endpoint.replace(/\/+$/, '')}/` : 'https://www.googleapis.com/';
      const api = drive({ version: 'v3', auth: oauth, rootUrl });
      const request: Client['request'] = async <T>(opts: Parameters<Client['request']>[0]) => {
        const res = await oauth.request<T>({ ...opts, validateStatus: (s: number) => (s >= 200 && s < 300) || s === 308, retry: false });
        return { status: res.status, data: res.data, headers: res.headers };
      };
      return { api, request, email: key.client_email, rootUrl };
    })().catch((error: unknown) => {
      clientPromise = undefined;
      throw error;
    });
    return clientPromise;
  }

  /** Every child of a folder matching the extra query clauses (all pages). */
  async function children(parentId: string, extra = ''): Promise<drive_v3.Schema$File[]> {
    const { api } = await client();
    const files: drive_v3.Schema$File[] = [];
    let pageToken: string | undefined;
    do {
      const res = await api.files.list({
        q: `${literal(parentId)} in parents and trashed = false${extra}`,
        fields: `nextPageToken, files(${FILE_FIELDS})`,
        pageSize: 1000,
        spaces: 'drive',
        ...listFlags,
        ...(pageToken ? { pageToken } : {}),
      });
      files.push(...(res.data.files ?? []));
      pageToken = res.data.nextPageToken ?? undefined;
    } while (pageToken);
    return files;
  }

  async function findFolder(parentId: string, name: string): Promise<string | undefined> {
    const found = await children(parentId, ` and name = ${literal(name)} and mimeType = ${literal(FOLDER)}`);
    return found[0]?.id ?? undefined;
  }

  /** The id of folder `path` ("a/b"), creating missing levels when `create`; undefined when absent. */
  function folderId(path: string, create: boolean): Promise<string | undefined> {
    const cached = folders.get(path);
    if (cached) return cached;
    const slash = path.lastIndexOf('/');
    const parentPath = slash < 0 ? '' : path.slice(0, slash);
    const name = path.slice(slash + 1);
    const lookup = (async () => {
      const parentId = await folderId(parentPath, create);
      if (!parentId) return undefined;
      const existing = await findFolder(parentId, name);
      if (existing || !create) return existing;
      const { api } = await client();
      const res = await api.files.create({ requestBody: { name, mimeType: FOLDER, parents: [parentId] }, fields: 'id', ...driveFlags });
      if (!res.data.id) throw new Error(`Drive created folder ${path} without an id`);
      return res.data.id;
    })();
    if (create) {
      // Cached before the first await, so parallel puts into one run folder create it once.
      const settled = lookup as Promise<string>;
      folders.set(path, settled);
      settled.catch(() => folders.delete(path));
      return settled;
    }
    return lookup.then((id) => {
      if (id && !folders.has(path)) folders.set(path, Promise.resolve(id));
      return id;
    });
  }

  const split = (key: string) => {
    const slash = key.lastIndexOf('/');
    return { dir: slash < 0 ? '' : key.slice(0, slash), name: key.slice(slash + 1) };
  };

  /** Files stored under `key`, newest first (Drive allows several files of one name). */
  async function filesAt(key: string): Promise<drive_v3.Schema$File[]> {
    const { dir, name } = split(key);
    const parent = await folderId(dir, false);
    if (!parent) return [];
    const found = await children(parent, ` and name = ${literal(name)} and mimeType != ${literal(FOLDER)}`);
    return found.sort((a, b) => Date.parse(b.modifiedTime ?? '') - Date.parse(a.modifiedTime ?? ''));
  }

  async function* walk(id: string, path: string, prefix: string): AsyncIterable<StoredObject> {
    for (const f of await children(id)) {
      const name = f.name ?? '';
      if (f.mimeType === FOLDER) {
        const sub = `${path}${name}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) {
          if (f.id) folders.set(sub.slice(0, -1), Promise.resolve(f.id));
          yield* walk(f.id!, sub, prefix);
        }
      } else if (`${path}${name}`.startsWith(prefix)) {
        yield {
          key: `${path}${name}`,
          size: Number(f.size ?? 0),
          ...(f.modifiedTime ? { lastModified: new Date(f.modifiedTime) } : {}),
        };
      }
    }
  }

  async function upload(client: Client, parentId: string, name: string, body: Readable, signal: AbortSignal): Promise<{ id: string; size: number }> {
    const start = await client.request<unknown>({
      url: `${client.rootUrl}upload/drive/v3/files?uploadType=resumable&fields=${encodeURIComponent(FILE_FIELDS)}${allDrives ? '&supportsAllDrives=true' : ''}`,
      method: 'POST',
      data: { name, parents: [parentId], mimeType: 'application/octet-stream' },
      headers: { 'X-Upload-Content-Type': 'application/octet-stream' },
      signal,
    });
    const session = header(start.headers, 'location');
    if (!session) throw new Error('Drive did not return an upload session URI');
    let size = 0;
    for await (const part of readParts(body, chunkSize, signal)) {
      size = part.offset + part.data.length;
      const range = part.last
        ? part.data.length === 0
          ? `bytes */${size}`
          : `bytes ${part.offset}-${size - 1}/${size}`
        : `bytes ${part.offset}-${size - 1}/*`;
      const res = await client.request<drive_v3.Schema$File>({
        url: session,
        method: 'PUT',
        data: part.data,
        headers: { 'Content-Range': range, 'Content-Type': 'application/octet-stream' },
        signal,
      });
      if (!part.last) {
        // 308 Resume Incomplete: the Range header says how much arrived; a shortfall means a lost chunk.
        const got = /bytes=0-(\d+)/.exec(header(res.headers, 'range') ?? '');
        if (res.status !== 308 || !got || Number(got[1]) + 1 !== size) throw new Error(`Drive accepted only part of chunk at offset ${part.offset}`);
      } else {
        if (res.status === 308 || !res.data?.id) throw new Error('Drive did not finish the upload after the last chunk');
        if (res.data.size !== undefined && res.data.size !== null && Number(res.data.size) !== size) {
          throw new Error(`Drive stored ${res.data.size} bytes, ${size} were sent`);
        }
        return { id: res.data.id, size };
      }
    }
    throw new Error('upload ended without a last chunk');
  }

  async function removeFile(id: string): Promise<void> {
    const { api } = await client();
    try {
      await api.files.delete({ fileId: id, ...driveFlags });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  return {
    async check() {
      try {
        const { api, email } = await client();
        const res = await api.files
          .get({ fileId: options.folder_id, fields: 'id, mimeType, capabilities(canAddChildren)', ...driveFlags })
          .catch((error: unknown) => {
            if (statusOf(error) === 404) throw fail(`folder ${options.folder_id} does not exist or is not shared with ${email}`);
            throw error;
          });
        if (res.data.mimeType !== FOLDER) throw fail(`folder_id ${options.folder_id} is not a folder`);
        if (res.data.capabilities?.canAddChildren === false) throw fail(`${email} cannot add files to folder ${options.folder_id}: share it as Editor`);
      } catch (error) {
        throw explain(`checking Drive folder ${options.folder_id}`, error);
      }
    },

    async put(key, body, { signal }) {
      const { dir, name } = split(key);
      try {
        signal.throwIfAborted();
        const c = await client();
        const parentId = (await folderId(dir, true))!;
        const stored = await upload(c, parentId, name, body, signal);
        // Replace, as the other destinations do: older files of the same name in that folder go.
        for (const old of await children(parentId, ` and name = ${literal(name)} and mimeType != ${literal(FOLDER)}`)) {
          if (old.id && old.id !== stored.id) await removeFile(old.id);
        }
        return { size: stored.size };
      } catch (error) {
        body.destroy();
        if (isAbort(error, signal) || body.errored) throw fail(`storing ${key}: ${streamFailure(body.errored ?? error, signal)}`, error);
        throw explain(`storing ${key}`, error);
      }
    },

    async *list(prefix) {
      // Go straight to the deepest folder the prefix names, then walk below it.
      const complete = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
      let start: string | undefined;
      try {
        start = await folderId(complete, false);
      } catch (error) {
        throw explain(`listing ${prefix}`, error);
      }
      if (!start) return;
      const iterator = walk(start, complete ? `${complete}/` : '', prefix)[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<StoredObject>;
        try {
          next = await iterator.next();
        } catch (error) {
          throw explain(`listing ${prefix}`, error);
        }
        if (next.done) return;
        yield next.value;
      }
    },

    async get(key) {
      let file: drive_v3.Schema$File | undefined;
      try {
        [file] = await filesAt(key);
      } catch (error) {
        throw explain(`reading ${key}`, error);
      }
      if (!file?.id) throw new ObjectNotFoundError(key, { plugin: options.id });
      try {
        const { api } = await client();
        const res = await api.files.get({ fileId: file.id, alt: 'media', ...driveFlags }, { responseType: 'stream' });
        const data = res.data as unknown;
        return data instanceof Readable ? data : Readable.fromWeb(data as import('node:stream/web').ReadableStream);
      } catch (error) {
        if (statusOf(error) === 404) throw new ObjectNotFoundError(key, { plugin: options.id });
        throw explain(`reading ${key}`, error);
      }
    },

    async delete(keys) {
      const touched = new Set<string>();
      for (const key of keys) {
        try {
          for (const f of await filesAt(key)) if (f.id) await removeFile(f.id);
        } catch (error) {
          throw explain(`deleting ${key}`, error);
        }
        const { dir } = split(key);
        if (dir) touched.add(dir);
      }
      // Remove run folders left empty (deepest first), never folder_id itself.
      const dirs = [...touched].flatMap((d) => d.split('/').map((_, i, all) => all.slice(0, i + 1).join('/')));
      for (const dir of [...new Set(dirs)].sort((a, b) => b.split('/').length - a.split('/').length)) {
        try {
          const id = await folderId(dir, false);
          if (!id || (await children(id)).length > 0) continue;
          await removeFile(id);
          for (const path of [...folders.keys()]) if (path === dir || path.startsWith(`${dir}/`)) folders.delete(path);
        } catch {
          // an empty folder left behind is harmless
        }
      }
    },
  };
}
