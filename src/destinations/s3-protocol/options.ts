/**
 * The multipart upload keys the S3-protocol destinations (s3, minio) share, spread into their
 * schemas: the first part's size (see part-size.ts for how parts grow) and the parts in flight.
 * Built on first use, like the schemas that spread it.
 */
import { z } from 'zod';
import { lazySchema } from '../../plugin.js';
import { DEFAULT_FIRST_PART_MIB } from './part-size.js';

export const MultipartShape = lazySchema(() => ({
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
}));
