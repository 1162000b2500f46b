/**
 * The b2 destination's instance: a bucket through the native B2 API (backblaze-b2), large files
 * in parts. Loaded only when a job uses the destination (index.ts declares it).
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type B2 from 'backblaze-b2';
import { DestinationError, ObjectNotFoundError } from '../../errors.js';
import { readParts } from '../cloud/parts.js';
import { networkCode, safeCause, serverSaid } from '../../lib/sdk-errors.js';
import { isAbort, streamFailure } from '../cloud/put-errors.js';
import type { Destination, DestinationOptions, PartialUpload, StoredObject } from '../types.js';
import { normalisePrefix } from '../cloud/prefix.js';
import type { B2Options } from './schema.js';

const DEFAULT_ENDPOINT = 'https://api.backblazeb2.com';
const MB = 1_000_000;
const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');

interface B2Failure {
  status?: number;
  code?: string;
  message?: string;
}

/** Status and B2's {status, code, message} body of an axios error, if any. */
function failureOf(error: unknown): B2Failure {
  const response = (error as { response?: { status?: number; data?: unknown } }).response;
  const data = response?.data as { code?: unknown; message?: unknown } | undefined;
  return {
    status: response?.status,
    code: typeof data?.code === 'string' ? data.code : undefined,
    message: typeof data?.message === 'string' ? data.message : undefined,
  };
}

interface B2UnfinishedFile {
  fileId: string;
  fileName: string;
  uploadTimestamp: number;
}

export function create(options: DestinationOptions<ReturnType<typeof B2Options>>): Destination {
  const root = normalisePrefix(options.prefix);
  const partSize = (options.part_size_mb ?? 100) * MB;
  const endpoint = (options.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  let session: Promise<{ b2: B2; bucketId: string }> | undefined;

  const fail = (message: string, error?: unknown) =>
    new DestinationError(message, { plugin: options.id, cause: error === undefined ? undefined : safeCause(error) });

  function explain(action: string, error: unknown): DestinationError {
    if (error instanceof DestinationError) return error;
    const { status, code, message } = failureOf(error);
    const what = serverSaid([code, message].filter(Boolean).join(': '));
    if (status === 401 && (code === 'unauthorized' || code === 'bad_auth_token') && /authoriz/i.test(action)) {
      return fail(`${action}: Backblaze B2 rejected the application key (HTTP 401 ${what}); check credentials.application_key_id and application_key`, error);
    }
    if (status === 401) {
      return fail(`${action}: Backblaze B2 refused the request (HTTP 401 ${what}); the key needs listBuckets, listFiles, readFiles, writeFiles and deleteFiles on bucket ${options.bucket}`, error);
    }
    if (status === 403) return fail(`${action}: Backblaze B2 refused the request (HTTP 403 ${what}); check the account's caps and storage`, error);
    const net = networkCode(error);
    if (net) return fail(`${action}: cannot reach Backblaze B2 at ${endpoint} (${net})`, error);
    if (status) return fail(`${action} failed: HTTP ${status} ${what}`, error);
    return fail(`${action} failed: ${serverSaid(error instanceof Error ? error.message : String(error))}`, error);
  }

  async function open(): Promise<{ b2: B2; bucketId: string }> {
    const { default: B2Client } = await import('backblaze-b2');
    const b2 = new B2Client({
      applicationKeyId: options.credentials.application_key_id,
      applicationKey: options.credentials.application_key,
      axios: { timeout: 120_000 },
      retry: { retries: 2 },
    });
    try {
      await b2.authorize({ axiosOverride: { url: `${endpoint}/b2api/v2/b2_authorize_account` } });
    } catch (error) {
      throw explain('authorizing with Backblaze B2', error);
    }
    let bucketId: string | undefined;
    try {
      const res = await b2.getBucket({ bucketName: options.bucket });
      bucketId = res.data.buckets.find((b) => b.bucketName === options.bucket)?.bucketId;
    } catch (error) {
      throw explain(`looking up bucket ${options.bucket}`, error);
    }
    if (!bucketId) throw fail(`bucket ${options.bucket} does not exist or the application key may not see it`);
    return { b2, bucketId };
  }

  function client(): Promise<{ b2: B2; bucketId: string }> {
    session ??= open().catch((error: unknown) => {
      session = undefined;
      throw error;
    });
    return session;
  }

  /** Runs a call, authorizing again once when B2 says the token expired (tokens last at most 24 hours). */
  async function call<T>(fn: (c: { b2: B2; bucketId: string }) => Promise<T>): Promise<T> {
    const c = await client();
    try {
      return await fn(c);
    } catch (error) {
      if (failureOf(error).code !== 'expired_auth_token') throw error;
      session = undefined;
      return fn(await client());
    }
  }

  async function uploadSmall(name: string, data: Buffer, signal: AbortSignal): Promise<void> {
    await call(async ({ b2, bucketId }) => {
      const url = await b2.getUploadUrl({ bucketId, axios: { signal } });
      await b2.uploadFile({
        uploadUrl: url.data.uploadUrl,
        uploadAuthToken: url.data.authorizationToken,
        fileName: name,
        data,
        hash: sha1(data),
        mime: 'application/octet-stream',
        axios: { signal },
      });
    });
  }

  /** Uploads `first` and the rest of `parts` as a large file; cancels it on any failure. */
  async function uploadLarge(name: string, first: Buffer, parts: AsyncGenerator<{ data: Buffer; last: boolean }>, signal: AbortSignal): Promise<number> {
    const { b2, bucketId } = await client();
    const started = await b2.startLargeFile({ bucketId, fileName: name, contentType: 'application/octet-stream', axios: { signal } });
    const fileId = started.data.fileId;
    try {
      const url = await b2.getUploadPartUrl({ fileId, axios: { signal } });
      const hashes: string[] = [];
      let size = 0;
      const send = async (data: Buffer) => {
        const hash = sha1(data);
        await b2.uploadPart({
          partNumber: hashes.length + 1,
          uploadUrl: url.data.uploadUrl,
          uploadAuthToken: url.data.authorizationToken,
          data,
          hash,
          axios: { signal },
        });
        hashes.push(hash);
        size += data.length;
      };
      await send(first);
      for await (const part of parts) await send(part.data);
      signal.throwIfAborted();
      await b2.finishLargeFile({ fileId, partSha1Array: hashes, axios: { signal } });
      return size;
    } catch (error) {
      await b2.cancelLargeFile({ fileId }).catch(() => undefined);
      throw error;
    }
  }

  /** Every version of exactly `name` (including unfinished large files). */
  async function versionsOf(name: string): Promise<{ fileId: string; action: string }[]> {
    const found: { fileId: string; action: string }[] = [];
    let startFileName: string | null = name;
    let startFileId: string | undefined;
    while (startFileName === name) {
      const res: Awaited<ReturnType<B2['listFileVersions']>> = await call(({ b2, bucketId }) =>
        b2.listFileVersions({ bucketId, startFileName: name, ...(startFileId ? { startFileId } : {}), maxFileCount: 100 }),
      );
      for (const f of res.data.files) if (f.fileName === name) found.push({ fileId: f.fileId, action: f.action });
      if (res.data.files.some((f) => f.fileName !== name)) break;
      startFileName = res.data.nextFileName;
      startFileId = res.data.nextFileId ?? undefined;
      if (!startFileId) break;
    }
    return found;
  }

  /**
   * b2_list_unfinished_large_files (backblaze-b2 1.7 leaves it unimplemented): one page of the
   * large files started and neither finished nor cancelled, names starting with `namePrefix`.
   */
  async function unfinishedPage(namePrefix: string, startFileId: string | undefined) {
    return call(async ({ b2, bucketId }) => {
      const response = await fetch(`${b2.apiUrl}/b2api/v2/b2_list_unfinished_large_files`, {
        method: 'POST',
        headers: { authorization: b2.authorizationToken ?? '', 'content-type': 'application/json' },
        body: JSON.stringify({ bucketId, namePrefix, maxFileCount: 100, ...(startFileId ? { startFileId } : {}) }),
        signal: AbortSignal.timeout(120_000),
      });
      const data = (await response.json().catch(() => ({}))) as { files?: B2UnfinishedFile[]; nextFileId?: string | null; code?: string; message?: string };
      // Shaped as the axios errors of the other calls, so call() and explain() read it the same way.
      if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { response: { status: response.status, data } });
      return { files: data.files ?? [], next: data.nextFileId ?? undefined };
    });
  }

  return {
    async check() {
      await call(({ b2, bucketId }) => b2.listFileNames({ bucketId, prefix: root, maxFileCount: 1 })).catch((error: unknown) => {
        throw explain(`listing bucket ${options.bucket}`, error);
      });
    },

    async put(key, body: Readable, { signal }) {
      const name = root + key;
      try {
        signal.throwIfAborted();
        await client();
        const parts = readParts(body, partSize, signal);
        const first = await parts.next();
        if (first.done) throw new Error('no data');
        if (first.value.last) {
          await uploadSmall(name, first.value.data, signal);
          return { size: first.value.data.length };
        }
        return { size: await uploadLarge(name, first.value.data, parts, signal) };
      } catch (error) {
        body.destroy();
        if (isAbort(error, signal) || body.errored) throw fail(`storing ${key}: ${streamFailure(body.errored ?? error, signal)}`, error);
        throw explain(`storing ${key}`, error);
      }
    },

    async *list(prefix): AsyncIterable<StoredObject> {
      let startFileName: string | null = '';
      do {
        const from: string = startFileName ?? '';
        let res: Awaited<ReturnType<B2['listFileNames']>>;
        try {
          res = await call(({ b2, bucketId }) =>
            b2.listFileNames({ bucketId, prefix: root + prefix, maxFileCount: 1000, ...(from ? { startFileName: from } : {}) }),
          );
        } catch (error) {
          throw explain(`listing ${prefix}`, error);
        }
        for (const f of res.data.files) {
          if (f.action !== 'upload' || !f.fileName.startsWith(root + prefix)) continue;
          yield { key: f.fileName.slice(root.length), size: f.contentLength, lastModified: new Date(f.uploadTimestamp) };
        }
        startFileName = res.data.nextFileName;
      } while (startFileName);
    },

    async *listPartial(prefix) {
      let start: string | undefined;
      do {
        let page;
        try {
          page = await unfinishedPage(root + prefix, start);
        } catch (error) {
          throw explain(`listing unfinished large files under ${prefix}`, error);
        }
        for (const f of page.files) {
          if (!f.fileName.startsWith(root + prefix)) continue;
          const partial: PartialUpload = { key: f.fileName.slice(root.length), handle: f.fileId, lastModified: new Date(f.uploadTimestamp) };
          yield partial;
        }
        start = page.next;
      } while (start);
    },

    async removePartial(partials) {
      for (const partial of partials) {
        try {
          await call(({ b2 }) => b2.cancelLargeFile({ fileId: partial.handle }));
        } catch (error) {
          const { status } = failureOf(error);
          // Already finished or cancelled: nothing left to remove.
          if (status === 400 || status === 404) continue;
          throw explain(`cancelling the unfinished large file ${partial.key}`, error);
        }
      }
    },

    async get(key) {
      try {
        const res = await call(({ b2 }) => b2.downloadFileByName({ bucketName: options.bucket, fileName: root + key, responseType: 'stream' }));
        return res.data as Readable;
      } catch (error) {
        const { status } = failureOf(error);
        const data = (error as { response?: { data?: unknown } }).response?.data as Readable | undefined;
        if (data && typeof data.resume === 'function') data.resume();
        if (status === 404) throw new ObjectNotFoundError(key, { plugin: options.id });
        throw explain(`reading ${key}`, error);
      }
    },

    async delete(keys) {
      for (const key of keys) {
        const name = root + key;
        try {
          for (const version of await versionsOf(name)) {
            try {
              await call(({ b2 }) =>
                version.action === 'start' ? b2.cancelLargeFile({ fileId: version.fileId }) : b2.deleteFileVersion({ fileId: version.fileId, fileName: name }),
              );
            } catch (error) {
              const { status, code } = failureOf(error);
              if (!(status === 404 || (status === 400 && code === 'file_not_present'))) throw error;
            }
          }
        } catch (error) {
          throw explain(`deleting ${key}`, error);
        }
      }
    },
  };
}
