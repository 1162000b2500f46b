/**
 * The `telegram` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { channelId, chatText, chatWants, fitChars, send } from '../chat/chat.js';
import type { Notifier, NotificationOptions } from '../types.js';
import type { TelegramOptions } from './schema.js';

/** sendMessage accepts 1-4096 characters of text. */
const MAX_TEXT = 4096;

export function create(options: NotificationOptions<ReturnType<typeof TelegramOptions>>): Notifier {
  const plugin = channelId(options, 'telegram');
  const url = `${options.api_base.replace(/\/+$/, '')}/bot${options.api_token}/sendMessage`;
  return {
    wants: chatWants(options),
    async notify(event, { signal }) {
      const { title, body } = chatText(event);
      // Plain text (no parse_mode): log lines full of * _ [ ] cannot break the message.
      const text = fitChars(`${title}\n\n${body}`, MAX_TEXT);
      await send(
        {
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ chat_id: options.chat_id, text }),
          signal,
          plugin,
        },
        {
          400: 'check chat_id; for a group or channel the bot must be a member',
          401: 'the api_token was rejected: get the current token from @BotFather',
          403: 'the bot may not write to this chat (blocked, removed, or not an admin of the channel)',
          404: 'the api_token was rejected: get the current token from @BotFather',
        },
      );
    },
  };
}
