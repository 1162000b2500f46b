import { z } from 'zod';
import { text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const GsOptions = lazySchema(() =>
  z.object({
    bucket: text('Google Cloud Storage bucket name (without gs://).'),
    gcs_creds_path: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Path to the service account JSON key file. Without it, Application Default Credentials are used (GOOGLE_APPLICATION_CREDENTIALS, gcloud, or the VM metadata server).',
      ),
    prefix: z
      .string()
      .optional()
      .describe('Folder-like prefix inside the bucket under which every key is stored, e.g. "backups/web1". Default: the bucket root.'),
    chunk_size_mb: z.coerce
      .number()
      .int()
      .min(1)
      .max(1024)
      .optional()
      .describe('Size of each resumable-upload chunk in MiB (default 16). Each chunk is held in memory while it is sent.'),
    endpoint: z
      .string()
      .url()
      .optional()
      .describe('API endpoint instead of https://storage.googleapis.com (a private endpoint or a test server). Requests are still authenticated.'),
  }),
);
export type GsOptions = z.output<ReturnType<typeof GsOptions>>;
