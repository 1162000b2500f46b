import { z } from 'zod';
import { secret, text } from '../../config/fields.js';
import { DEFAULT_FIRST_PART_MIB } from '../s3-protocol/part-size.js';

export const S3Credentials = z
  .object({
    aws_access_key_id: text('AWS access key id.'),
    aws_secret_access_key: secret('AWS secret access key'),
    aws_session_token: secret('Session token of temporary credentials (optional)').optional(),
  })
  .strict()
  .describe('Static credentials. Omit to use the standard AWS credential chain (environment, ~/.aws, SSO, instance or task role).');

export const S3Options = z.object({
  bucket: text('S3 bucket name.'),
  region: text(
    'Region of the bucket (e.g. eu-west-1). Default: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1; requests to a bucket in another region are redirected.',
  ).optional(),
  credentials: S3Credentials.optional(),
  endpoint_url: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Endpoint of an S3-compatible service (MinIO, Wasabi, Ceph, Garage...), e.g. https://s3.wasabisys.com. Path-style requests are used when set.'),
  prefix: z.string().optional().describe('Folder inside the bucket that holds every backup of this destination (e.g. "servers/web1"). Default: the bucket root.'),
  storage_class: text(
    'Storage class of stored objects: STANDARD (default), STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE... (GLACIER/DEEP_ARCHIVE objects cannot be restored or verified without a restore request first).',
  ).optional(),
  sse: z
    .enum(['AES256', 'aws:kms'])
    .optional()
    .describe('Server-side encryption: AES256 (S3-managed keys) or aws:kms (KMS key; see sse_kms_key_id). Default: the bucket default.'),
  sse_kms_key_id: text('KMS key id or ARN for sse "aws:kms". Default: the AWS-managed aws/s3 key.').optional(),
  checksum: z
    .enum(['when_required', 'when_supported'])
    .optional()
    .describe(
      'Extra request checksums of the AWS SDK. when_required (default): only where the API requires one, with Content-MD5 for DeleteObjects; works with AWS and S3-compatible servers. when_supported: the SDK default CRC checksums on every upload; some S3-compatible servers reject them. Uploads are protected by the signed SHA-256 of each request either way.',
    ),
  part_size_mb: z.coerce
    .number()
    .int()
    .min(5)
    .max(5120)
    .optional()
    .describe(
      `Size of the first multipart part in MiB (default ${DEFAULT_FIRST_PART_MIB}); later parts grow so that a stream of up to 5 TiB (the S3 maximum) fits in 10,000 parts. Memory used is about (upload_concurrency + 1) x the current part size.`,
    ),
  upload_concurrency: z.coerce.number().int().min(1).max(16).optional().describe('Parts uploaded at the same time (default 2).'),
});
export type S3Options = z.output<typeof S3Options>;
