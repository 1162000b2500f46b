/**
 * The gs destination's instance: a bucket through @google-cloud/storage, resumable uploads.
 * Loaded only when a job uses the destination (index.ts declares it).
 */
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Bucket, File, Storage } from '@google-cloud/storage';
import { DestinationError, ObjectNotFoundError } from '../../errors.js';
import { ServiceAccountError, ServiceAccountTokens, readServiceAccountKey } from '../cloud/google-service-account.js';
import { findInChain, networkCode, safeCause, serverSaid } from '../../lib/sdk-errors.js';
import { isAbort, streamFailure } from '../cloud/put-errors.js';
import { normalisePrefix } from '../cloud/prefix.js';
import type { Destination, DestinationOptions, StoredObject } from '../types.js';
import type { GsOptions } from './schema.js';

const SCOPE = 'https://www.googleapis.com/auth/devstorage.read_write';
const MIB = 1024 * 1024;

export function create(options: DestinationOptions<ReturnType<typeof GsOptions>>): Destination {
  const root = normalisePrefix(options.prefix);
  const chunkSize = (options.chunk_size_mb ?? 16) * MIB;
  const where = `gs://${options.bucket}/${root}`;
  let clientPromise: Promise<{ storage: Storage; bucket: Bucket }> | undefined;

  const fail = (message: string, error?: unknown) =>
    new DestinationError(message, { plugin: options.id, cause: error === undefined ? undefined : safeCause(error) });

  /** Turns an SDK failure into an operator's message. */
  function explain(action: string, error: unknown): DestinationError {
    if (error instanceof DestinationError) return error;
    const keyError = findInChain(error, ServiceAccountError);
    if (keyError) return fail(`${action}: ${keyError.message}`, keyError);
    const status = Number((error as { code?: unknown }).code);
    const detail = serverSaid(error instanceof Error ? error.message : String(error));
    if (status === 401) {
      return fail(`${action}: Google Cloud Storage rejected the credentials (HTTP 401 ${detail}); check gcs_creds_path`, error);
    }
    if (status === 403) {
      return fail(
        `${action}: permission denied on bucket ${options.bucket} (HTTP 403 ${detail}); grant the service account roles/storage.objectAdmin on the bucket`,
        error,
      );
    }
    if (status === 404 && /bucket/i.test(detail)) return fail(`${action}: bucket ${options.bucket} does not exist (HTTP 404)`, error);
    const code = networkCode(error);
    if (code) return fail(`${action}: cannot reach Google Cloud Storage at ${options.endpoint ?? 'https://storage.googleapis.com'} (${code})`, error);
    return fail(`${action} failed: ${Number.isFinite(status) && status > 0 ? `HTTP ${status} ` : ''}${detail}`, error);
  }

  async function client(): Promise<{ storage: Storage; bucket: Bucket }> {
    clientPromise ??= (async () => {
      const { Storage } = await import('@google-cloud/storage');
      let authClient: import('google-auth-library').OAuth2Client | undefined;
      let projectId: string | undefined;
      if (options.gcs_creds_path) {
        const key = await readServiceAccountKey(options.gcs_creds_path);
        const tokens = new ServiceAccountTokens(key, [SCOPE]);
        const { OAuth2Client } = await import('google-auth-library');
        authClient = new OAuth2Client();
        authClient.refreshHandler = () => tokens.token();
        projectId = key.project_id;
      }
      const storage = new Storage({
        ...(authClient ? { authClient } : {}),
        ...(projectId ? { projectId } : {}),
        ...(options.endpoint ? { apiEndpoint: options.endpoint.replace(/\/+$/, ''), useAuthWithCustomEndpoint: true } : {}),
        retryOptions: { autoRetry: true, maxRetries: 3, totalTimeout: 300 },
      });
      return { storage, bucket: storage.bucket(options.bucket) };
    })().catch((error: unknown) => {
      clientPromise = undefined;
      throw error;
    });
    return clientPromise;
  }

  /** Cancels a resumable session: GCS answers 499 and forgets the uploaded chunks. */
  async function cancelSession(storage: Storage, uri: string): Promise<void> {
    try {
      await storage.authClient.request({ method: 'DELETE', url: uri, headers: { 'Content-Length': '0' }, validateStatus: () => true });
    } catch {
      // best effort: an uncommitted session expires by itself after a week and is never listed
    }
  }

  /** After a failure that happened while the last chunk was in flight: remove the object that chunk may have created. */
  async function removeIfCreatedSince(file: File, since: number): Promise<void> {
    try {
      const [metadata] = await file.getMetadata();
      const created = Date.parse(String(metadata.timeCreated ?? ''));
      if (Number.isFinite(created) && created >= since - 5_000 && metadata.generation !== undefined) {
        await file.delete({ ifGenerationMatch: metadata.generation, ignoreNotFound: true });
      }
    } catch {
      // not there: nothing to remove
    }
  }

  return {
    async check() {
      try {
        const { bucket } = await client();
        await bucket.getFiles({ prefix: root, maxResults: 1, autoPaginate: false });
      } catch (error) {
        throw explain(`checking ${where}`, error);
      }
    },

    async put(key, body: Readable, { signal }) {
      let storage: Storage;
      let bucket: Bucket;
      try {
        ({ storage, bucket } = await client());
      } catch (error) {
        body.destroy();
        throw explain(`storing ${key}`, error);
      }
      const file = bucket.file(root + key);
      const started = Date.now();
      let size = 0;
      let lastChunkMayBeSent = false;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          callback(null, chunk);
        },
        flush(callback) {
          lastChunkMayBeSent = true;
          callback();
        },
      });
      // The session is opened first (createResumableUpload honours useAuthWithCustomEndpoint,
      // createWriteStream alone does not in 7.x), so its URI is known and can be cancelled.
      let sessionUri: string;
      try {
        signal.throwIfAborted();
        [sessionUri] = await file.createResumableUpload({ metadata: { contentType: 'application/octet-stream' } });
      } catch (error) {
        body.destroy();
        if (isAbort(error, signal)) throw fail(`storing ${key}: ${streamFailure(error, signal)}`, error);
        throw explain(`storing ${key}`, error);
      }
      const upload = file.createWriteStream({
        resumable: true,
        uri: sessionUri,
        offset: 0,
        chunkSize,
        validation: 'crc32c',
        contentType: 'application/octet-stream',
      });
      try {
        await pipeline(body, counter, upload, { signal });
        return { size };
      } catch (error) {
        upload.destroy();
        await cancelSession(storage, sessionUri);
        if (lastChunkMayBeSent) await removeIfCreatedSince(file, started);
        if (isAbort(error, signal) || body.errored) throw fail(`storing ${key}: ${streamFailure(body.errored ?? error, signal)}`, error);
        throw explain(`storing ${key}`, error);
      }
    },

    async *list(prefix): AsyncIterable<StoredObject> {
      const { bucket } = await client().catch((error: unknown) => {
        throw explain(`listing ${where}${prefix}`, error);
      });
      let pageToken: string | undefined;
      do {
        let files: File[];
        let next: { pageToken?: string } | undefined;
        try {
          [files, next] = await bucket.getFiles({ prefix: root + prefix, autoPaginate: false, maxResults: 1000, ...(pageToken ? { pageToken } : {}) });
        } catch (error) {
          throw explain(`listing ${where}${prefix}`, error);
        }
        for (const f of files) {
          if (!f.name.startsWith(root) || f.name.endsWith('/')) continue;
          const updated = f.metadata.updated ?? f.metadata.timeCreated;
          yield {
            key: f.name.slice(root.length),
            size: Number(f.metadata.size ?? 0),
            ...(updated ? { lastModified: new Date(updated) } : {}),
          };
        }
        pageToken = next?.pageToken;
      } while (pageToken);
    },

    async get(key) {
      let file: File;
      try {
        const { bucket } = await client();
        file = bucket.file(root + key);
        await file.getMetadata();
      } catch (error) {
        if (Number((error as { code?: unknown }).code) === 404) throw new ObjectNotFoundError(key, { plugin: options.id });
        throw explain(`reading ${key}`, error);
      }
      return file.createReadStream({ validation: 'crc32c' });
    },

    async delete(keys) {
      const { bucket } = await client().catch((error: unknown) => {
        throw explain('deleting', error);
      });
      for (const key of keys) {
        try {
          await bucket.file(root + key).delete({ ignoreNotFound: true });
        } catch (error) {
          throw explain(`deleting ${key}`, error);
        }
      }
    },
  };
}
