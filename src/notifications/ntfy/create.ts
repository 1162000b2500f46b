/**
 * The `ntfy` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { ConfigError } from '../../errors.js';
import { channelId, chatText, chatWants, fitBytes, send } from '../chat/chat.js';
import { basicAuth } from '../../lib/http.js';
import { isFailure } from '../message.js';
import type { NotificationEvent, Notifier, NotificationOptions } from '../types.js';
import type { NtfyOptions } from './schema.js';

const MAX_BODY_BYTES = 4000;

/** Header values must be Latin-1 for fetch; ntfy decodes RFC 2047 encoded words. */
export function headerText(text: string): string {
  const oneLine = text.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(oneLine) ? oneLine : `=?UTF-8?B?${Buffer.from(oneLine).toString('base64')}?=`;
}

/** Emoji tags by outcome (ntfy shows known short codes as emoji), plus a text tag. */
export function tagsFor(event: NotificationEvent): string {
  if (isFailure(event)) return 'rotating_light,backup';
  if (event.kind === 'start') return 'arrow_forward,backup';
  const warned = event.kind === 'run' ? event.run.status === 'warning' : event.kind === 'success' && event.source.warnings.length > 0;
  return `${warned ? 'warning' : 'white_check_mark'},backup`;
}

export function create(options: NotificationOptions<ReturnType<typeof NtfyOptions>>): Notifier {
  const plugin = channelId(options, 'ntfy');
  const url = options.url ?? (options.topic ? `${options.base.replace(/\/+$/, '')}/${options.topic}` : undefined);
  if (!url) throw new ConfigError([{ path: `notifications.${plugin}.url`, message: 'required (or topic)' }]);
  const auth: Record<string, string> = options.token
    ? { authorization: `Bearer ${options.token}` }
    : options.username && options.password
      ? { authorization: basicAuth(options.username, options.password) }
      : {};
  return {
    wants: chatWants(options),
    async notify(event, { signal }) {
      const { title, body } = chatText(event);
      await send(
        {
          method: 'POST',
          url,
          headers: {
            ...auth,
            'content-type': 'text/plain; charset=utf-8',
            title: headerText(title),
            priority: isFailure(event) ? options.priority_failure : options.priority_success,
            tags: tagsFor(event),
          },
          body: fitBytes(body, MAX_BODY_BYTES),
          signal,
          plugin,
        },
        {
          401: 'the server wants authentication: set token, or username and password',
          403: 'this user or token may not publish to the topic: grant write access',
          413: 'the message was too large for this server',
        },
      );
    },
  };
}
