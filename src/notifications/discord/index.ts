/**
 * `discord`: executes a channel webhook. One summary per run, on failure by default.
 * Rate limits (429) are waited out once when Discord asks for a short pause, and otherwise
 * reported as retryable so the dispatcher backs off. The webhook URL is a secret.
 */
import { defineNotification } from '../types.js';
import { DiscordOptions } from './schema.js';

export const discordNotification = defineNotification({
  type: 'discord',
  description: 'Post to a Discord channel through a webhook.',
  get options() {
    return DiscordOptions();
  },
  secrets: ['url'],
  create: async (options) => (await import('./create.js')).create(options),
});
