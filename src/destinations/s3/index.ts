/**
 * `s3`: an Amazon S3 bucket, or any S3-compatible service through `endpoint_url`, with the AWS
 * SDK v3. Streams of unknown length go up as growing multipart uploads (../s3-protocol/), aborted
 * on any failure so nothing partial stays; listing pages with continuation tokens; deletes go in
 * DeleteObjects batches of up to 1000 keys.
 */
import { defineDestination } from '../types.js';
import { S3Options } from './schema.js';

export const s3Destination = defineDestination({
  type: 's3',
  description: 'An Amazon S3 bucket, or an S3-compatible service (MinIO, Wasabi, Ceph, Garage...) via endpoint_url.',
  get options() {
    return S3Options();
  },
  problems(options) {
    const problems: { key: string; message: string }[] = [];
    if (options.sse_kms_key_id && options.sse !== 'aws:kms') problems.push({ key: 'sse_kms_key_id', message: 'only used with "sse": "aws:kms"' });
    return problems;
  },
  create: async (options) => (await import('./create.js')).create(options),
});
