/**
 * Unfinished multipart uploads as partial uploads (the contract's listPartial/removePartial),
 * for s3 and minio: each SDK fetches the ListMultipartUploads pages, this pages through them,
 * keeps those under the destination's prefix and aborts them through the uploader's target.
 * An upload left by a killed run stays (and is billed) until aborted or a lifecycle rule
 * (AbortIncompleteMultipartUpload) removes it.
 */
import type { PartialUpload } from '../types.js';
import type { MultipartTarget } from './multipart.js';

export interface UploadMarker {
  keyMarker: string;
  uploadIdMarker: string;
}

export interface UploadPage {
  uploads: { key: string; uploadId: string; initiated?: Date }[];
  /** Where the next page starts; absent on the last page. */
  next?: UploadMarker;
}

/** Every unfinished upload whose full key starts with `base + prefix`, keys relative to `base`. */
export async function* listUnfinishedUploads(base: string, prefix: string, fetchPage: (fullPrefix: string, marker: UploadMarker | undefined) => Promise<UploadPage>): AsyncIterable<PartialUpload> {
  let marker: UploadMarker | undefined;
  do {
    const page = await fetchPage(base + prefix, marker);
    for (const upload of page.uploads) {
      if (!upload.key.startsWith(base + prefix)) continue;
      yield { key: upload.key.slice(base.length), handle: upload.uploadId, ...(upload.initiated ? { lastModified: upload.initiated } : {}) };
    }
    marker = page.next;
  } while (marker);
}

/** Aborts each upload (AbortMultipartUpload; one already gone counts as aborted). */
export async function abortUnfinishedUploads(partials: readonly PartialUpload[], targetFor: (key: string) => MultipartTarget): Promise<void> {
  for (const partial of partials) await targetFor(partial.key).abortUpload(partial.handle);
}
