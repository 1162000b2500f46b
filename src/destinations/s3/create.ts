/**
 * The s3 destination's instance: a bucket through the AWS SDK v3, uploads through the shared
 * multipart uploader (../s3-protocol/). Loaded only when a job uses the destination (index.ts
 * declares it).
 */
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { DestinationError, ObjectNotFoundError } from '../../errors.js';
import { networkCode, safeCause } from '../../lib/sdk-errors.js';
import { explainS3Error, normalizePrefix, type S3ErrorFacts, type S3Place } from '../s3-protocol/common.js';
import { storeMultipart, type MultipartTarget } from '../s3-protocol/multipart.js';
import { abortUnfinishedUploads, listUnfinishedUploads } from '../s3-protocol/partials.js';
import type { Destination, DestinationOptions, StoredObject } from '../types.js';
import type { S3Options } from './schema.js';

const DELETE_BATCH = 1000;

interface SdkErrorShape {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function factsOf(error: unknown): S3ErrorFacts {
  const e = (error ?? {}) as SdkErrorShape;
  const message = (e.message ?? String(error)).split('\n')[0]!;
  return { code: e.Code ?? e.name, status: e.$metadata?.httpStatusCode, network: networkCode(error), message };
}

function isNotFound(error: unknown): boolean {
  const { code, status } = factsOf(error);
  return code === 'NoSuchKey' || code === 'NotFound' || status === 404;
}

export async function create(options: DestinationOptions<ReturnType<typeof S3Options>>): Promise<Destination> {
  const sdk = await import('@aws-sdk/client-s3');
  // The SDK warns on every start that its releases after January 2027 need Node 22; the
  // version pinned here supports Node 20, and that warning would reach cron mail nightly.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  const base = normalizePrefix(options.prefix);
  const bucket = options.bucket;
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const checksum = options.checksum === 'when_supported' ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED';
  const place: S3Place = {
    bucket,
    endpoint: options.endpoint_url ?? `https://s3.${region}.amazonaws.com`,
    region,
    accessKeyField: options.credentials ? 'credentials.aws_access_key_id' : 'the access key of the AWS credential chain',
    secretKeyField: options.credentials ? 'credentials.aws_secret_access_key' : 'the secret key of the AWS credential chain',
  };
  const client: S3Client = new sdk.S3Client({
    region,
    endpoint: options.endpoint_url,
    forcePathStyle: options.endpoint_url !== undefined,
    followRegionRedirects: true,
    credentials: options.credentials
      ? {
          accessKeyId: options.credentials.aws_access_key_id,
          secretAccessKey: options.credentials.aws_secret_access_key,
          sessionToken: options.credentials.aws_session_token,
        }
      : undefined,
    requestChecksumCalculation: checksum,
    responseChecksumValidation: checksum,
    requestHandler: { connectionTimeout: 15_000, socketTimeout: 120_000 },
  });
  if (checksum === 'WHEN_REQUIRED') {
    // DeleteObjects requires a checksum; the SDK now sends CRC32, which many S3-compatible
    // servers refuse. Content-MD5, which the S3 API documents for it, works everywhere.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { headers?: Record<string, string>; body?: unknown };
        if (context.commandName === 'DeleteObjectsCommand' && request.headers && (typeof request.body === 'string' || request.body instanceof Uint8Array)) {
          for (const header of Object.keys(request.headers)) {
            const lower = header.toLowerCase();
            if (lower.startsWith('x-amz-checksum-') || lower.startsWith('x-amz-sdk-checksum-')) delete request.headers[header];
          }
          request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
        }
        return next(args);
      },
      { step: 'build', priority: 'low', name: 'backupRunnerDeleteObjectsContentMd5' },
    );
  }

  const fail = (doing: string, error: unknown) => {
    const e = error as SdkErrorShape;
    if (e?.name === 'CredentialsProviderError') {
      return new DestinationError(
        `${doing} failed: no AWS credentials found: set "credentials" in the job file or configure the standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or task role)`,
        { plugin: options.id, cause: safeCause(error) },
      );
    }
    return new DestinationError(`${doing} failed: ${explainS3Error(factsOf(error), place)}`, { plugin: options.id, cause: safeCause(error) });
  };

  const encryption = {
    ServerSideEncryption: options.sse,
    SSEKMSKeyId: options.sse === 'aws:kms' ? options.sse_kms_key_id : undefined,
  };
  const storage = { StorageClass: options.storage_class as import('@aws-sdk/client-s3').StorageClass | undefined };

  function targetFor(key: string): MultipartTarget {
    const Key = base + key;
    return {
      async putObject(body, signal) {
        await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key, Body: body, ContentLength: body.length, ...storage, ...encryption }), { abortSignal: signal });
      },
      async createUpload() {
        const created = await client.send(new sdk.CreateMultipartUploadCommand({ Bucket: bucket, Key, ...storage, ...encryption }));
        if (!created.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
        return created.UploadId;
      },
      async uploadPart(uploadId, partNumber, body, signal) {
        const part = await client.send(
          new sdk.UploadPartCommand({ Bucket: bucket, Key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }),
          { abortSignal: signal },
        );
        if (!part.ETag) throw new Error(`UploadPart ${partNumber} returned no ETag`);
        return part.ETag;
      },
      async completeUpload(uploadId, parts, signal) {
        await client.send(
          new sdk.CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
          }),
          { abortSignal: signal },
        );
      },
      async abortUpload(uploadId) {
        try {
          await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId: uploadId }));
        } catch (error) {
          if (factsOf(error).code !== 'NoSuchUpload') throw error;
        }
      },
      async deleteObject() {
        await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key }));
      },
    };
  }

  return {
    async check() {
      try {
        await client.send(new sdk.HeadBucketCommand({ Bucket: bucket }));
      } catch (error) {
        const { status, network } = factsOf(error);
        // A HEAD answer has no body, so a 403 or 400 does not say why. The same request as a
        // GET (ListObjectsV2 needs the same s3:ListBucket permission) carries the error code.
        if (!network && (status === 403 || status === 400)) {
          try {
            await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
          } catch (detailed) {
            throw fail(`checking bucket "${bucket}"`, detailed);
          }
        }
        throw fail(`checking bucket "${bucket}"`, error);
      }
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
      let token: string | undefined;
      do {
        let page;
        try {
          page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: base + prefix, ContinuationToken: token }));
        } catch (error) {
          throw fail(`listing ${base + prefix}`, error);
        }
        for (const object of page.Contents ?? []) {
          if (!object.Key || !object.Key.startsWith(base)) continue;
          const stored: StoredObject = { key: object.Key.slice(base.length), size: object.Size ?? 0, lastModified: object.LastModified };
          yield stored;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    listPartial(prefix) {
      return listUnfinishedUploads(base, prefix, async (Prefix, marker) => {
        let page;
        try {
          page = await client.send(new sdk.ListMultipartUploadsCommand({ Bucket: bucket, Prefix, KeyMarker: marker?.keyMarker, UploadIdMarker: marker?.uploadIdMarker }));
        } catch (error) {
          throw fail(`listing unfinished uploads under ${Prefix}`, error);
        }
        return {
          uploads: (page.Uploads ?? []).flatMap((u) => (u.Key && u.UploadId ? [{ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated }] : [])),
          next: page.IsTruncated ? { keyMarker: page.NextKeyMarker ?? '', uploadIdMarker: page.NextUploadIdMarker ?? '' } : undefined,
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
        const object = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: base + key }));
        if (!object.Body) throw new Error('GetObject returned no body');
        return object.Body as Readable;
      } catch (error) {
        if (isNotFound(error)) throw new ObjectNotFoundError(key, { plugin: options.id });
        throw fail(`reading ${key}`, error);
      }
    },

    async delete(keys) {
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        const batch = keys.slice(i, i + DELETE_BATCH);
        let result;
        try {
          result = await client.send(
            new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((k) => ({ Key: base + k })), Quiet: true } }),
          );
        } catch (error) {
          throw fail(`deleting ${batch.length} object(s)`, error);
        }
        const errors = (result.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (errors.length > 0) {
          const first = errors[0]!;
          throw new DestinationError(
            `deleting ${errors.length} of ${batch.length} object(s) failed, first ${first.Key ?? '?'}: ${first.Code ?? 'error'} ${first.Message ?? ''}`.trim(),
            { plugin: options.id },
          );
        }
      }
    },

    async close() {
      client.destroy();
    },
  };
}
