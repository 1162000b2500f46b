/**
 * `flagfile`: touches a file when the whole run succeeded, for file-age checks (SNMP
 * file_age_secs, Nagios check_file_age). Failures leave it alone: its age is the alarm.
 */
import { mkdir, open, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../../errors.js';
import { makeWants, runOutcomeWanted } from '../events.js';
import { defineNotification } from '../types.js';
import { FlagfileOptions } from './schema.js';

const DEFAULTS = { start: false, success: true, failure: false };

export const flagfileNotification = defineNotification({
  type: 'flagfile',
  description: 'Touch a file after a fully successful run (monitor its age).',
  options: FlagfileOptions,
  problems: (options) => (options.flagfile || options.filename ? [] : [{ key: 'flagfile', message: 'required (or filename)' }]),
  create(options) {
    const file = options.flagfile ?? options.filename;
    if (!file) throw new ConfigError([{ path: `notifications.${options.id}.flagfile`, message: 'required' }]);
    return {
      wants: makeWants(options, DEFAULTS, { perSource: false, perRun: true }),
      async notify(event) {
        if (!runOutcomeWanted(event, options, DEFAULTS) || event.kind !== 'run') return;
        if (event.run.status !== 'success' && event.run.status !== 'warning') return;
        await mkdir(dirname(file), { recursive: true });
        const handle = await open(file, 'a');
        await handle.close();
        const now = new Date();
        await utimes(file, now, now);
      },
    };
  },
});
