import { z } from 'zod';
import { flag, text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const GdriveOptions = lazySchema(() =>
  z.object({
    creds_file: text('Path to the service account JSON key file.'),
    folder_id: text('ID of the Drive folder to store backups in (the last part of the folder URL), shared with the service account as Editor.'),
    supports_all_drives: flag(
      'Work with folders on shared drives (supportsAllDrives / includeItemsFromAllDrives). Default 1; harmless for My Drive folders.',
    ).optional(),
    chunk_size_mb: z.coerce
      .number()
      .int()
      .min(1)
      .max(1024)
      .optional()
      .describe('Size of each resumable-upload chunk in MiB (default 8). Each chunk is held in memory while it is sent.'),
    endpoint: z
      .string()
      .url()
      .optional()
      .describe('API root instead of https://www.googleapis.com/ (a private endpoint or a test server).'),
  }),
);
export type GdriveOptions = z.output<ReturnType<typeof GdriveOptions>>;
