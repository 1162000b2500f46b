import { z } from 'zod';
import { AwsCredentials } from '../../config/aws-credentials.js';
import { text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';
import { MultipartShape } from '../s3-protocol/options.js';

export const S3Options = lazySchema(() =>
  z.object({
    bucket: text('S3 bucket name.'),
    region: text(
      'Region of the bucket (e.g. eu-west-1). Default: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1; requests to a bucket in another region are redirected.',
    ).optional(),
    credentials: AwsCredentials().optional(),
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
    ...MultipartShape(),
  }),
);
export type S3Options = z.output<ReturnType<typeof S3Options>>;
