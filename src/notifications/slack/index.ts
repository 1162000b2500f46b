/**
 * `slack`: posts to an incoming webhook. One summary per run, on failure by default.
 * The webhook URL is the credential, so it is a secret and never appears in an error.
 */
import { defineNotification } from '../types.js';
import { SlackOptions } from './schema.js';

export const slackNotification = defineNotification({
  type: 'slack',
  description: 'Post to a Slack channel through an incoming webhook.',
  get options() {
    return SlackOptions();
  },
  secrets: ['url'],
  create: async (options) => (await import('./create.js')).create(options),
});
