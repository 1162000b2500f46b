/**
 * `ntfy`: publishes to a topic, `POST {base}/{topic}` with the message as the body and
 * `Title`, `Priority` and `Tags` headers; Bearer token or Basic authentication. Bodies stay
 * under ntfy's 4096-byte message limit (longer ones would arrive as an attachment).
 */
import { defineNotification } from '../types.js';
import { NtfyOptions } from './schema.js';

export const ntfyNotification = defineNotification({
  type: 'ntfy',
  description: 'Publish a push notification to an ntfy topic (ntfy.sh or self-hosted).',
  get options() {
    return NtfyOptions();
  },
  problems(options) {
    const problems: { key: string; message: string }[] = [];
    if (options.url && options.topic) problems.push({ key: 'url', message: 'give either url, or topic (with base), not both' });
    if (!options.url && !options.topic) problems.push({ key: 'url', message: 'required (or topic)' });
    if (options.token && (options.username || options.password)) problems.push({ key: 'token', message: 'give either token, or username and password, not both' });
    if (!!options.username !== !!options.password) problems.push({ key: options.username ? 'password' : 'username', message: 'username and password go together' });
    return problems;
  },
  create: async (options) => (await import('./create.js')).create(options),
});
