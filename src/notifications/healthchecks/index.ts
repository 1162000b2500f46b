/**
 * `healthchecks`: the Healthchecks.io pinging API (hosted or self-hosted).
 * `/start` when the run's first source starts, the plain ping URL when the run succeeded,
 * `/fail` when it failed; every ping carries `?rid=` (the run's id as a UUID) so Healthchecks
 * pairs start and completion and shows the duration. POST bodies hold the summary and the
 * log tail, cut from the front to `max_log_bytes` so the last lines survive.
 */
import { defineNotification } from '../types.js';
import { HealthchecksOptions } from './schema.js';

export const healthchecksNotification = defineNotification({
  type: 'healthchecks',
  description: 'Ping a Healthchecks.io check: /start at the beginning, success or /fail at the end of the run.',
  get options() {
    return HealthchecksOptions();
  },
  secrets: ['url', 'ping_key'],
  problems(options) {
    if (options.url && (options.ping_key || options.slug)) return [{ key: 'url', message: 'give either url, or ping_key and slug, not both' }];
    if (!options.url && !(options.ping_key && options.slug)) return [{ key: 'url', message: 'required (or ping_key and slug)' }];
    return [];
  },
  create: async (options) => (await import('./create.js')).create(options),
});
