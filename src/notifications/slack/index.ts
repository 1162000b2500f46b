/**
 * `slack`: posts to an incoming webhook. One summary per run, on failure by default.
 * The webhook URL is the credential, so it is a secret and never appears in an error.
 */
import { channelId, chatText, chatWants, fitChars, send } from '../chat/chat.js';
import { defineNotification } from '../types.js';
import { SlackOptions } from './schema.js';

/** Slack advises keeping `text` under 4,000 characters; longer is truncated or rejected. */
const MAX_TEXT = 4000;

/** Slack's mrkdwn treats only these three as control characters. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export const slackNotification = defineNotification({
  type: 'slack',
  description: 'Post to a Slack channel through an incoming webhook.',
  options: SlackOptions,
  secrets: ['url'],
  create(options) {
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
  },
});
