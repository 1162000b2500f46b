import { z } from 'zod';
import { perSourceField } from '../chat/schema.js';
import { lazySchema } from '../../plugin.js';

export const TelegramOptions = lazySchema(() =>
  z.object({
    api_token: z
      .string()
      .regex(/^[^\s/?#]+$/, 'expected a bot token such as 123456789:AAE... (from @BotFather)')
      .describe('Bot token from @BotFather (123456789:AAE...). Secret: use api_token_file or ${ENV}.'),
    chat_id: z
      .union([z.string().min(1), z.number().int()])
      .transform((v) => String(v))
      .describe('Chat to post to: a numeric id (groups are negative, e.g. -1001234567890) or @channelname.'),
    api_base: z
      .url({ protocol: /^https?$/ })
      .default('https://api.telegram.org')
      .describe('Bot API server (default https://api.telegram.org; a self-hosted telegram-bot-api server otherwise).'),
    per_source: perSourceField(),
  }),
);
export type TelegramOptions = z.output<ReturnType<typeof TelegramOptions>>;
