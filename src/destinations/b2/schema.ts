import { z } from 'zod';
import { secret, text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const B2Options = lazySchema(() =>
  z.object({
    bucket: text('Backblaze B2 bucket name.'),
    credentials: z
      .object({
        application_key_id: text('B2 application key ID (keyID).'),
        application_key: secret('B2 application key (applicationKey).'),
      })
      .strict()
      .describe('The B2 application key: create one restricted to this bucket, see the README for the capabilities it needs.'),
    prefix: z
      .string()
      .optional()
      .describe('Folder-like prefix inside the bucket under which every key is stored, e.g. "backups/web1". Default: the bucket root.'),
    part_size_mb: z.coerce
      .number()
      .int()
      .min(5)
      .max(5000)
      .optional()
      .describe('Part size of large-file uploads in MB (default 100, as B2 recommends; at least 5). Streams up to one part go up in a single b2_upload_file; each part is held in memory while it is sent.'),
    endpoint: z
      .string()
      .url()
      .optional()
      .describe('Base URL of the B2 authorization API instead of https://api.backblazeb2.com (a test server). The API and download URLs come from the authorization answer.'),
  }),
);
export type B2Options = z.output<ReturnType<typeof B2Options>>;
