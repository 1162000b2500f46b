import { z } from 'zod';
import { secret } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const WebhookOptions = lazySchema(() =>
  z.object({
    url: z.url({ protocol: /^https?$/ }).describe('Where the JSON is POSTed (http or https). Treat it as a secret if it carries a token.'),
    headers: z
      .record(z.string().min(1), z.string())
      .optional()
      .describe('Extra request headers, e.g. { "Authorization": "Bearer ${HOOK_TOKEN}" }. Values of Authorization/token/key/secret-like headers are masked in logs.'),
    hmac_secret: secret('Signs each body: header X-Backup-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>.').optional(),
    events: z
      .array(z.enum(['start', 'success', 'failure', 'run']))
      .min(1)
      .optional()
      .describe('Which events to send: "run" (the summary at the end, default), "start", "success", "failure" (per source).'),
  }),
);
export type WebhookOptions = z.output<ReturnType<typeof WebhookOptions>>;
