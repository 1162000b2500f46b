import { z } from 'zod';
import { secret } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const DropboxOptions = lazySchema(() =>
  z.object({
    access_token: secret(
      'Dropbox access token. Tokens generated in the App Console today are short-lived (4 hours): for unattended backups use refresh_token + app_key (+ app_secret) instead.',
    ).optional(),
    refresh_token: secret('Long-lived refresh token (offline access) from the OAuth flow; used with app_key to get fresh access tokens.').optional(),
    app_key: z.string().min(1).optional().describe('The Dropbox app key (client id); needed with refresh_token.'),
    app_secret: secret('The Dropbox app secret; needed with refresh_token unless the token was obtained with PKCE.').optional(),
    folder: z
      .string()
      .optional()
      .describe('Folder in the Dropbox (or the app folder, for "App folder" apps) that holds the backups. Default: /backups.'),
    chunk_size_mb: z.coerce
      .number()
      .int()
      .min(4)
      .max(148)
      .multipleOf(4)
      .optional()
      .describe('Size of each upload-session request in MiB, a multiple of 4 (default 8). Each chunk is held in memory while it is sent.'),
    endpoint: z
      .string()
      .url()
      .optional()
      .describe('Base URL replacing https://api.dropboxapi.com and https://content.dropboxapi.com (a test server or an inspecting proxy).'),
  }),
);
export type DropboxOptions = z.output<ReturnType<typeof DropboxOptions>>;
