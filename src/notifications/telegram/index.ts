/**
 * `telegram`: Bot API sendMessage, `POST {api_base}/bot{token}/sendMessage` with JSON
 * `{chat_id, text}`. The token is part of the URL path, which is why errors only ever name
 * the server's origin.
 */
import { defineNotification } from '../types.js';
import { TelegramOptions } from './schema.js';

export const telegramNotification = defineNotification({
  type: 'telegram',
  description: 'Send a Telegram message from a bot (Bot API sendMessage).',
  get options() {
    return TelegramOptions();
  },
  create: async (options) => (await import('./create.js')).create(options),
});
