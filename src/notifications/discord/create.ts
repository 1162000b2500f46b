/**
 * The `discord` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { sleep } from '../../lib/retry.js';
import { channelId, chatText, chatWants, fitChars, send } from '../chat/chat.js';
import { HttpStatusError, safeOrigin, type HttpResponse } from '../../lib/http.js';
import type { Notifier, NotificationOptions } from '../types.js';
import type { DiscordOptions } from './schema.js';

/** Discord rejects `content` longer than 2000 characters. */
const MAX_CONTENT = 2000;
/** Waiting longer than this inside one attempt is left to the dispatcher's backoff. */
const MAX_INLINE_WAIT_MS = 5000;

/** Seconds Discord asks us to wait, from the JSON body of a 429. */
export function retryAfterMs(text: string): number | undefined {
  try {
    const seconds = (JSON.parse(text) as { retry_after?: unknown }).retry_after;
    return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds * 1000) : undefined;
  } catch {
    return undefined;
  }
}

export function create(options: NotificationOptions<ReturnType<typeof DiscordOptions>>): Notifier {
  const plugin = channelId(options, 'discord');
  return {
    wants: chatWants(options),
    async notify(event, { signal }) {
      const { title, body } = chatText(event);
      const head = `**${title.replace(/([*_~`|\\])/g, '\\$1')}**\n`;
      const content = `${head}\`\`\`\n${fitChars(body.replace(/```/g, "'''"), MAX_CONTENT - head.length - 8)}\n\`\`\``;
      const payload = JSON.stringify({
        content,
        // Log lines may contain "@everyone" or user ids: never ping anyone.
        allowed_mentions: { parse: [] },
        ...(options.username ? { username: options.username } : {}),
      });
      const post = (): Promise<HttpResponse> =>
        send(
          {
            method: 'POST',
            url: options.url,
            headers: { 'content-type': 'application/json' },
            body: payload,
            signal,
            plugin,
            acceptStatus: [429],
          },
          {
            401: 'the webhook token is invalid: copy the webhook URL again',
            404: 'the webhook was deleted or the URL is wrong: create a new webhook and update url',
          },
        );
      let response = await post();
      if (response.status === 429) {
        const wait = retryAfterMs(response.text);
        if (wait !== undefined && wait <= MAX_INLINE_WAIT_MS) {
          await sleep(wait, signal);
          response = await post();
        }
      }
      if (response.status === 429) {
        const wait = retryAfterMs(response.text);
        throw new HttpStatusError(
          429,
          `${safeOrigin(options.url)} answered HTTP 429: rate limited${wait !== undefined ? `, retry after ${(wait / 1000).toFixed(1)} s` : ''}`,
          plugin,
        );
      }
    },
  };
}
