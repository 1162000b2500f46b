/**
 * The `slack` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { channelId, chatText, chatWants, fitChars, send } from '../chat/chat.js';
import type { Notifier, NotificationOptions } from '../types.js';
import type { SlackOptions } from './schema.js';

/** Slack advises keeping `text` under 4,000 characters; longer is truncated or rejected. */
const MAX_TEXT = 4000;

/** Slack's mrkdwn treats only these three as control characters. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function create(options: NotificationOptions<ReturnType<typeof SlackOptions>>): Notifier {
  return {
    wants: chatWants(options),
    async notify(event, { signal }) {
      const { title, body } = chatText(event);
      // The body goes in a code block: log lines keep their layout and are not read as markup.
      const head = `*${escapeSlack(title)}*\n`;
      const block = escapeSlack(fitChars(body, MAX_TEXT - head.length - 6).replace(/```/g, "'''"));
      const text = `${head}\`\`\`${block}\`\`\``;
      await send(
        {
          method: 'POST',
          url: options.url,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify({ text }),
          signal,
          plugin: channelId(options, 'slack'),
        },
        {
          403: 'the webhook is not allowed to post: check the Slack app and workspace settings',
          404: 'the webhook URL is unknown or was revoked: create a new incoming webhook and update url',
          410: 'the channel was archived: point the webhook at an active channel',
        },
      );
    },
  };
}
