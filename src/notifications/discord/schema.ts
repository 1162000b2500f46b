import { z } from 'zod';
import { perSourceField } from '../chat/schema.js';
import { lazySchema } from '../../plugin.js';

export const DiscordOptions = lazySchema(() =>
  z.object({
    url: z
      .url({ protocol: /^https?$/ })
      .describe('Webhook URL from the channel settings (https://discord.com/api/webhooks/{id}/{token}). Secret: it authorizes posting; use url_file or ${ENV}.'),
    username: z.string().min(1).max(80).optional().describe('Name shown as the message author instead of the webhook\'s own name.'),
    per_source: perSourceField(),
  }),
);
export type DiscordOptions = z.output<ReturnType<typeof DiscordOptions>>;
