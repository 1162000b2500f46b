/**
 * `duplistatus`: each source run as a Duplicati backup report, `POST {url}/api/upload`, so
 * runner jobs show on the same dashboard as Duplicati backups. The server answers 409 to a
 * report it already has (same machine-id, backup-name and BeginTime): that is delivered.
 * The server may take over 10 s while it sends its own notifications: the channel's default
 * timeout (30 s) covers it.
 */
import { defineNotification } from '../types.js';
import { DuplistatusOptions } from './schema.js';

export const duplistatusNotification = defineNotification({
  type: 'duplistatus',
  description: 'Send each source run as a Duplicati backup report to a duplistatus dashboard.',
  get options() {
    return DuplistatusOptions();
  },
  records: true,
  create: async (options) => (await import('./create.js')).create(options),
});
