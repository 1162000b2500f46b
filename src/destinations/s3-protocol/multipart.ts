/**
 * Streams data of unknown length into an S3-protocol bucket, atomically.
 *
 * A stream that ends within the first part is stored with one PutObject; anything longer
 * becomes a multipart upload whose parts grow (part-size.ts) so that 5 TiB fits in 10,000 parts.
 * Parts are held in memory (so the SDK can retry them) and at most `concurrency` are in flight;
 * reading pauses meanwhile, which is the backpressure the pipeline relies on.
 *
 * Atomic: the object appears only with the final request (PutObject or
 * CompleteMultipartUpload). On a stream error, an abort, or a failed request, the in-flight
 * parts are cancelled, the upload is aborted (AbortMultipartUpload frees the stored parts), and
 * if the final request had already been sent, the object is deleted again. The @aws-sdk/lib-storage
 * `Upload` class was not used because its part size is fixed: 5 TiB would need 525 MiB parts, and
 * that much memory per part in flight for every upload, even a small one.
 */
import type { Readable } from 'node:stream';
import { DestinationError } from '../../errors.js';
import { safeCause } from '../../lib/sdk-errors.js';
import { DEFAULT_FIRST_PART_MIB, MAX_PARTS, MIB, partSizer } from './part-size.js';

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

/** The S3 requests the uploader needs, bound to one bucket and key by the destination. */
export interface MultipartTarget {
  /** Stores the whole object in one request (streams that fit in the first part). */
  putObject(body: Buffer, signal: AbortSignal): Promise<void>;
  /**
   * CreateMultipartUpload; resolves with the upload id. Given no signal on purpose: a create
   * cancelled in flight may still have been carried out, leaving an upload whose id we never
   * learnt and so could not abort.
   */
  createUpload(): Promise<string>;
  /** UploadPart; resolves with the part's ETag. */
  uploadPart(uploadId: string, partNumber: number, body: Buffer, signal: AbortSignal): Promise<string>;
  completeUpload(uploadId: string, parts: CompletedPart[], signal: AbortSignal): Promise<void>;
  /** AbortMultipartUpload; an upload that no longer exists (NoSuchUpload) counts as aborted. */
  abortUpload(uploadId: string): Promise<void>;
  /** DeleteObject, for a final request that may have landed before the failure was seen. */
  deleteObject(): Promise<void>;
}

export interface MultipartOptions {
  /** Size of the first part; later parts grow from it. */
  firstPartBytes: number;
  /** Parts uploaded at the same time. */
  concurrency: number;
  /** The put's signal: aborting it cancels the upload and leaves nothing. */
  signal: AbortSignal;
}

/** Where a failed upload failed: the data stream, the put's abort, or the storage service. */
export type FailureOrigin = 'stream' | 'abort' | 'service' | 'too-large';

export class MultipartUploadError extends Error {
  constructor(
    message: string,
    readonly origin: FailureOrigin,
    readonly reason: unknown,
    /** What could not be cleaned up (an upload that stays until a lifecycle rule removes it). */
    readonly leftovers: string[],
  ) {
    super(message);
    this.name = 'MultipartUploadError';
  }
}

class StreamFailed {
  constructor(readonly error: unknown) {}
}

class TooLarge extends Error {}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/** Uploads `body`; resolves with the bytes stored and the number of parts (0 for a single PutObject). */
export async function uploadStream(body: Readable, target: MultipartTarget, options: MultipartOptions): Promise<{ size: number; parts: number }> {
  const { signal } = options;
  const sizeOf = partSizer(options.firstPartBytes);
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  // Cancels the requests in flight when anything fails, not only when the put is aborted.
  const cancel = new AbortController();
  const requestSignal = AbortSignal.any([signal, cancel.signal]);

  let uploadId: string | undefined;
  // The final request (PutObject or CompleteMultipartUpload): not sent, under way, or done.
  let final: 'unsent' | 'sent' | 'done' = 'unsent';
  let partFailure: { error: unknown } | undefined;
  // A function, not inline checks: TypeScript would keep a checked variable narrowed to
  // undefined across the awaits during which a part can fail.
  const throwIfPartFailed = () => {
    if (partFailure) throw partFailure.error;
  };
  const inflight = new Set<Promise<void>>();
  const completed: CompletedPart[] = [];
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;

  // Exactly `bytes` bytes from the front of the buffered chunks, copied into one new buffer.
  const take = (bytes: number): Buffer => {
    const pieces: Buffer[] = [];
    let need = bytes;
    while (need > 0) {
      const head = pending[0]!;
      if (head.length <= need) {
        pieces.push(head);
        pending.shift();
        need -= head.length;
      } else {
        pieces.push(head.subarray(0, need));
        pending[0] = head.subarray(need);
        need = 0;
      }
    }
    pendingBytes -= bytes;
    return Buffer.concat(pieces, bytes);
  };

  const startPart = (partNumber: number, data: Buffer) => {
    const id = uploadId!;
    const tracked: Promise<void> = target
      .uploadPart(id, partNumber, data, requestSignal)
      .then(
        (etag) => {
          completed.push({ partNumber, etag });
        },
        (error: unknown) => {
          partFailure ??= { error };
          // Stop reading at once rather than after the next part has been buffered.
          cancel.abort(error);
          body.destroy();
        },
      )
      .finally(() => inflight.delete(tracked));
    inflight.add(tracked);
  };

  const onAbort = () => body.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  const iterator = body[Symbol.asyncIterator]();
  try {
    signal.throwIfAborted();
    let partNumber = 1;
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await iterator.next();
      } catch (error) {
        // A failed part destroys the body to stop reading: report the part's error, not that.
        throwIfPartFailed();
        throw new StreamFailed(error);
      }
      throwIfPartFailed();
      signal.throwIfAborted();
      if (next.done) break;
      const chunk = next.value;
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array | string);
      if (buffer.length === 0) continue;
      pending.push(buffer);
      pendingBytes += buffer.length;
      size += buffer.length;
      // Cut a part only when more than a part is buffered: the part that goes is then never the last.
      while (pendingBytes > sizeOf(partNumber)) {
        if (partNumber >= MAX_PARTS) throw new TooLarge('the stream is larger than the biggest S3 object (5 TiB in 10,000 parts)');
        const data = take(sizeOf(partNumber));
        if (uploadId === undefined) {
          uploadId = await target.createUpload();
          signal.throwIfAborted();
        }
        while (inflight.size >= concurrency) await Promise.race(inflight);
        throwIfPartFailed();
        startPart(partNumber, data);
        partNumber += 1;
      }
    }

    const rest = take(pendingBytes);
    pending = [];
    let parts = 0;
    if (uploadId === undefined) {
      final = 'sent';
      await target.putObject(rest, requestSignal);
    } else {
      while (inflight.size >= concurrency) await Promise.race(inflight);
      throwIfPartFailed();
      startPart(partNumber, rest);
      await Promise.all([...inflight]);
      throwIfPartFailed();
      completed.sort((a, b) => a.partNumber - b.partNumber);
      parts = completed.length;
      final = 'sent';
      await target.completeUpload(uploadId, completed, requestSignal);
    }
    final = 'done';
    // An SDK without abort support may finish its request after the put was aborted.
    signal.throwIfAborted();
    return { size, parts };
  } catch (caught) {
    cancel.abort(caught);
    if (!body.destroyed) body.destroy();
    await Promise.allSettled([...inflight]);
    const leftovers: string[] = [];
    if (uploadId !== undefined) {
      try {
        await target.abortUpload(uploadId);
      } catch (error) {
        leftovers.push(
          `the incomplete multipart upload ${uploadId} could not be aborted (${messageOf(error)}); its parts stay billed until removed (an AbortIncompleteMultipartUpload lifecycle rule does it)`,
        );
      }
    }
    // Stored, then aborted; or cancelled while the final request was under way, when the server
    // may have carried it out. A final request the server refused stored nothing: there is
    // nothing to delete, and deleting could remove an older object of the same key.
    if (final === 'done' || (final === 'sent' && signal.aborted)) {
      try {
        await target.deleteObject();
      } catch (error) {
        leftovers.push(`the object may have been stored and could not be deleted again (${messageOf(error)})`);
      }
    }
    if (signal.aborted) {
      const reason = signal.reason instanceof Error ? signal.reason.message : 'aborted';
      throw new MultipartUploadError(`upload aborted (${reason})`, 'abort', signal.reason, leftovers);
    }
    if (caught instanceof StreamFailed) {
      throw new MultipartUploadError(`the data stream failed (${messageOf(caught.error)})`, 'stream', caught.error, leftovers);
    }
    if (caught instanceof TooLarge) throw new MultipartUploadError(caught.message, 'too-large', caught, leftovers);
    throw new MultipartUploadError(messageOf(caught), 'service', caught, leftovers);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export interface StoreSettings {
  /** The destination id, for errors. */
  plugin: string;
  key: string;
  partSizeMb?: number;
  concurrency?: number;
  signal: AbortSignal;
  /** Turns a service error into the operator's words (s3 and minio explain them the same way). */
  explain: (reason: unknown) => string;
  /** Wraps any other failure. */
  fail: (doing: string, error: unknown) => Error;
}

/** `put` of the s3 and minio destinations: one multipart upload, errors said the same way. */
export async function storeMultipart(body: Readable, target: MultipartTarget, s: StoreSettings): Promise<{ size: number }> {
  try {
    const { size } = await uploadStream(body, target, {
      firstPartBytes: (s.partSizeMb ?? DEFAULT_FIRST_PART_MIB) * MIB,
      concurrency: s.concurrency ?? 2,
      signal: s.signal,
    });
    return { size };
  } catch (error) {
    if (!(error instanceof MultipartUploadError)) throw s.fail(`storing ${s.key}`, error);
    const why = error.origin === 'service' ? s.explain(error.reason) : error.message;
    const left = error.leftovers.length > 0 ? `; ${error.leftovers.join('; ')}` : '; nothing was stored';
    throw new DestinationError(`storing ${s.key} failed: ${why}${left}`, { plugin: s.plugin, cause: safeCause(error.reason) });
  }
}
