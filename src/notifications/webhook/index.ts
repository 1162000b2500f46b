/**
 * `webhook`: POSTs the run report as JSON to any URL, optionally signed with HMAC-SHA256 so
 * the receiver can tell it came from us. By default once per run (the summary).
 */
import { defineNotification } from '../types.js';
import { WebhookOptions } from './schema.js';

export const webhookNotification = defineNotification({
  type: 'webhook',
  description: 'POST the run report as JSON to a URL (optionally HMAC-signed).',
  get options() {
    return WebhookOptions();
  },
  // The URL is a secret as a whole: receivers authorize by a token in its path or query.
  secrets: ['url'],
  create: async (options) => (await import('./create.js')).create(options),
});
