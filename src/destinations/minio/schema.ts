import { z } from 'zod';
import { flag, secret, text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';
import { MultipartShape } from '../s3-protocol/options.js';

export const MinioCredentials = lazySchema(() =>
  z
    .object({
      access_key: text('Access key.'),
      secret_key: secret('Secret key'),
    })
    .strict()
    .describe('Access key and secret key of the MinIO / S3-compatible account.'),
);

export const MinioOptions = lazySchema(() =>
  z.object({
    endpoint: text('MinIO / S3-compatible endpoint: host or host:port, without a scheme (e.g. nyc3.digitaloceanspaces.com, minio.lan:9000).'),
    bucket: text('Bucket name.'),
    secure: flag('Use TLS (https). Default 1; set 0 for a plain-http local MinIO.').optional(),
    credentials: MinioCredentials(),
    region: text('Region of the bucket. Default: asked from the server (GetBucketLocation).').optional(),
    prefix: z.string().optional().describe('Folder inside the bucket that holds every backup of this destination. Default: the bucket root.'),
    ...MultipartShape(),
  }),
);
export type MinioOptions = z.output<ReturnType<typeof MinioOptions>>;
