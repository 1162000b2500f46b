/**
 * `flagfile`: writes `OK` to a file when the whole run succeeded, for file-age checks (SNMP
 * file_age_secs, Nagios check_file_age) and for scripts that read it, as the original did.
 * Failures leave it alone: its age is the alarm.
 */
import { defineNotification } from '../types.js';
import { FlagfileOptions } from './schema.js';

export const flagfileNotification = defineNotification({
  type: 'flagfile',
  description: 'Touch a file after a fully successful run (monitor its age).',
  get options() {
    return FlagfileOptions();
  },
  records: true,
  problems: (options) => (options.flagfile || options.filename ? [] : [{ key: 'flagfile', message: 'required (or filename)' }]),
  create: async (options) => (await import('./create.js')).create(options),
});
