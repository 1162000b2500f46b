/**
 * `flagfile`: writes `OK` to a file when the whole run succeeded, for file-age checks (SNMP
 * file_age_secs, Nagios check_file_age) and for scripts that read it, as the original did.
 * Failures leave it alone: its age is the alarm.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../../errors.js';
import { runSucceeded } from '../events.js';
import { defineNotification } from '../types.js';
import { FlagfileOptions } from './schema.js';
import { writeFileAtomically } from '../../lib/atomic-file.js';

const DEFAULTS = { start: false, success: true, failure: false };
export const FLAG_CONTENT = 'OK';

export const flagfileNotification = defineNotification({
  type: 'flagfile',
  description: 'Touch a file after a fully successful run (monitor its age).',
  options: FlagfileOptions,
  records: true,
  problems: (options) => (options.flagfile || options.filename ? [] : [{ key: 'flagfile', message: 'required (or filename)' }]),
  create(options) {
    const file = options.flagfile ?? options.filename;
    if (!file) throw new ConfigError([{ path: `notifications.${options.id}.flagfile`, message: 'required' }]);
    return {
      // Only the summary of a run that succeeded: a failure leaves the file alone (notify_on_failure changes nothing).
      wants: (event) => event.kind === 'run' && runSucceeded(event.run) && (options.notify_on_success ?? DEFAULTS.success),
      async notify() {
        await mkdir(dirname(file), { recursive: true });
        // Exactly what the original wrote (no newline). Written aside and renamed, so a reader
        // never sees an empty file; the rename also sets the modification time.
        await writeFileAtomically(file, FLAG_CONTENT);
      },
    };
  },
});
