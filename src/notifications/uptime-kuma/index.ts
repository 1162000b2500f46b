/**
 * `uptime-kuma`: one push per run to a push monitor,
 * `GET {base}/api/push/{token}?status=up|down&msg=TEXT&ping=MILLISECONDS` (1.23 accepts GET
 * only and reads the query string only). `ping` carries the run's duration. On failure,
 * `on_failure: "down"` pushes status=down with the error; `"skip"` pushes nothing and lets the
 * monitor's heartbeat interval expire, the Proxmox hook-script practice.
 */
import { defineNotification } from '../types.js';
import { UptimeKumaOptions } from './schema.js';

export const uptimeKumaNotification = defineNotification({
  type: 'uptime-kuma',
  description: 'Push the run result to an Uptime Kuma push monitor (once per run).',
  get options() {
    return UptimeKumaOptions();
  },
  secrets: ['push_url'],
  problems(options) {
    if (options.push_url && (options.url || options.token)) return [{ key: 'push_url', message: 'give either push_url, or url and token, not both' }];
    if (!options.push_url && !(options.url && options.token)) return [{ key: 'push_url', message: 'required (or url and token)' }];
    return [];
  },
  create: async (options) => (await import('./create.js')).create(options),
});
