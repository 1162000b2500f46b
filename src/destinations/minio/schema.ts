import { z } from 'zod';
import { flag, secret, text } from '../../config/fields.js';
import { DEFAULT_FIRST_PART_MIB } from '../s3-protocol/part-size.js';

export const MinioCredentials = z
  .object({
    access_key: text('Access key.'),
    secret_key: secret('Secret key'),
  })
  .strict()
  .describe('Access key and secret key of the MinIO / S3-compatible account.');

export const MinioOptions = z.object({
  endpoint: text('MinIO / S3-compatible endpoint: host or host:port, without a scheme (e.g. nyc3.digitaloceanspaces.com, minio.lan:9000).'),
  bucket: text('Bucket name.'),
  secure: flag('Use TLS (https). Default 1; set 0 for a plain-http local MinIO.').optional(),
  credentials: MinioCredentials,
  region: text('Region of the bucket. Default: asked from the server (GetBucketLocation).').optional(),
  prefix: z.string().optional().describe('Folder inside the bucket that holds every backup of this destination. Default: the bucket root.'),
  part_size_mb: z.coerce
    .number()
    .int()
    .min(5)
    .max(5120)
    .optional()
    .describe(
      `Size of the first multipart part in MiB (default ${DEFAULT_FIRST_PART_MIB}); later parts grow so that up to 5 TiB fits in 10,000 parts. Memory used is about (upload_concurrency + 1) x the current part size.`,
    ),
  upload_concurrency: z.coerce.number().int().min(1).max(16).optional().describe('Parts uploaded at the same time (default 2).'),
});
export type MinioOptions = z.output<typeof MinioOptions>;
