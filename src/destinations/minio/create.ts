/**
 * The minio destination's instance: a bucket through the MinIO JavaScript SDK. Loaded only when a
 * job uses the destination (index.ts declares it).
 *
 * The SDK's own putObject is not used for uploads: for a stream of unknown length it buffers
 * 528 MiB parts, it resumes any earlier incomplete upload of the same key, and when the source
 * stream fails it neither rejects nor aborts the multipart upload (the error is not forwarded
 * through its internal pipe, so the promise never settles and the parts stay). Uploads go through
 * the shared uploader (../s3-protocol/multipart.ts) over the SDK's multipart calls instead,
 * which aborts the upload by id on any failure.
 */
import type { Readable } from 'node:stream';
import type { Client } from 'minio';
import { DestinationError, ObjectNotFoundError } from '../../errors.js';
import { networkCode, safeCause } from '../../lib/sdk-errors.js';
import { explainS3Error, normalizePrefix, type S3ErrorFacts, type S3Place } from '../s3-protocol/common.js';
import { storeMultipart, type MultipartTarget } from '../s3-protocol/multipart.js';
import { abortUnfinishedUploads, listUnfinishedUploads } from '../s3-protocol/partials.js';
import type { Destination, DestinationOptions, StoredObject } from '../types.js';
import { parseEndpoint } from './endpoint.js';
import type { MinioOptions } from './schema.js';

function factsOf(error: unknown): S3ErrorFacts {
  const e = (error ?? {}) as { code?: string; message?: string };
  const network = networkCode(error);
  const message = (e.message ?? String(error)).split('\n')[0]!;
  const status = e.code === 'AccessDenied' ? 403 : e.code === 'NotFound' ? 404 : undefined;
  return { code: network ? undefined : e.code, status, network, message };
}

export async function create(options: DestinationOptions<ReturnType<typeof MinioOptions>>): Promise<Destination> {
  const Minio = await import('minio');
  const parsed = parseEndpoint(options.endpoint);
  if (!parsed) throw new DestinationError(`endpoint "${options.endpoint}" is not host or host:port`, { plugin: options.id });
  const secure = options.secure ?? true;
  const bucket = options.bucket;
  const base = normalizePrefix(options.prefix);
  const client: Client = new Minio.Client({
    endPoint: parsed.host,
    port: parsed.port,
    useSSL: secure,
    accessKey: options.credentials.access_key,
    secretKey: options.credentials.secret_key,
    region: options.region,
  });
  const place: S3Place = {
    bucket,
    endpoint: `${secure ? 'https' : 'http'}://${options.endpoint}`,
    region: options.region,
    accessKeyField: 'credentials.access_key',
    secretKeyField: 'credentials.secret_key',
  };
  const fail = (doing: string, error: unknown) =>
    new DestinationError(`${doing} failed: ${explainS3Error(factsOf(error), place)}`, { plugin: options.id, cause: safeCause(error) });
  const codeOf = (error: unknown) => (error as { code?: string } | null)?.code;

  function targetFor(key: string): MultipartTarget {
    const name = base + key;
    return {
      async putObject(body) {
        await client.putObject(bucket, name, body, body.length);
      },
      async createUpload() {
        return client.initiateNewMultipartUpload(bucket, name, {});
      },
      async uploadPart(uploadId, partNumber, body) {
        const part = await client.uploadPart({ bucketName: bucket, objectName: name, uploadID: uploadId, partNumber, headers: {} }, body);
        if (!part.etag) throw new Error(`UploadPart ${partNumber} returned no ETag`);
        return part.etag;
      },
      async completeUpload(uploadId, parts) {
        await client.completeMultipartUpload(
          bucket,
          name,
          uploadId,
          parts.map((p) => ({ part: p.partNumber, etag: p.etag })),
        );
      },
      async abortUpload(uploadId) {
        try {
          await client.abortMultipartUpload(bucket, name, uploadId);
        } catch (error) {
          if (codeOf(error) !== 'NoSuchUpload') throw error;
        }
      },
      async deleteObject() {
        await client.removeObject(bucket, name);
      },
    };
  }

  return {
    async check() {
      let exists: boolean;
      try {
        exists = await client.bucketExists(bucket);
      } catch (error) {
        // A HEAD answer has no body: list one key to learn why access was denied.
        if (codeOf(error) === 'AccessDenied') {
          try {
            await client.listObjectsV2Query(bucket, '', '', '', 1, '');
          } catch (detailed) {
            throw fail(`checking bucket "${bucket}"`, detailed);
          }
        }
        throw fail(`checking bucket "${bucket}"`, error);
      }
      if (!exists) throw new DestinationError(`bucket "${bucket}" does not exist at ${place.endpoint}: create it or fix "bucket"`, { plugin: options.id });
    },

    put(key, body, { signal }) {
      return storeMultipart(body, targetFor(key), {
        plugin: options.id,
        key,
        partSizeMb: options.part_size_mb,
        concurrency: options.upload_concurrency,
        signal,
        explain: (reason) => explainS3Error(factsOf(reason), place),
        fail,
      });
    },

    async *list(prefix) {
      let token = '';
      do {
        let page;
        try {
          page = await client.listObjectsV2Query(bucket, base + prefix, token, '', 1000, '');
        } catch (error) {
          throw fail(`listing ${base + prefix}`, error);
        }
        for (const object of page.objects) {
          if (!object.name || !object.name.startsWith(base)) continue;
          const stored: StoredObject = { key: object.name.slice(base.length), size: object.size ?? 0, lastModified: object.lastModified };
          yield stored;
        }
        token = page.isTruncated ? page.nextContinuationToken : '';
      } while (token);
    },

    listPartial(prefix) {
      return listUnfinishedUploads(base, prefix, async (fullPrefix, marker) => {
        let page;
        try {
          page = await client.listIncompleteUploadsQuery(bucket, fullPrefix, marker?.keyMarker ?? '', marker?.uploadIdMarker ?? '', '');
        } catch (error) {
          throw fail(`listing unfinished uploads under ${fullPrefix}`, error);
        }
        return {
          uploads: page.uploads.map((u) => ({ key: u.key, uploadId: u.uploadId, initiated: u.initiated })),
          next: page.isTruncated ? { keyMarker: page.nextKeyMarker, uploadIdMarker: page.nextUploadIdMarker } : undefined,
        };
      });
    },

    async removePartial(partials) {
      await abortUnfinishedUploads(partials, targetFor).catch((error: unknown) => {
        throw fail('aborting an unfinished upload', error);
      });
    },

    async get(key) {
      try {
        return (await client.getObject(bucket, base + key)) as Readable;
      } catch (error) {
        const code = codeOf(error);
        if (code === 'NoSuchKey' || code === 'NotFound') throw new ObjectNotFoundError(key, { plugin: options.id });
        throw fail(`reading ${key}`, error);
      }
    },

    async delete(keys) {
      if (keys.length === 0) return;
      let results;
      try {
        // The SDK sends DeleteObjects in batches of 1000 keys, with Content-MD5.
        results = await client.removeObjects(
          bucket,
          keys.map((k) => base + k),
        );
      } catch (error) {
        throw fail(`deleting ${keys.length} object(s)`, error);
      }
      const errors = results
        .map((r) => {
          const entry = r as { Code?: string; Key?: string; Message?: string; Error?: { Code?: string; Key?: string; Message?: string } } | null | undefined;
          return entry?.Error ?? entry;
        })
        .filter((e): e is { Code?: string; Key?: string; Message?: string } => Boolean(e?.Code) && e?.Code !== 'NoSuchKey');
      if (errors.length > 0) {
        const first = errors[0]!;
        throw new DestinationError(`deleting ${errors.length} of ${keys.length} object(s) failed, first ${first.Key ?? '?'}: ${first.Code} ${first.Message ?? ''}`.trim(), {
          plugin: options.id,
        });
      }
    },
  };
}
