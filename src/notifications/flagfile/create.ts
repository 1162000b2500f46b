/**
 * The `flagfile` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../../errors.js';
import { runSucceeded } from '../events.js';
import type { Notifier, NotificationOptions } from '../types.js';
import { writeFileAtomically } from '../../lib/atomic-file.js';
import type { FlagfileOptions } from './schema.js';

const DEFAULTS = { start: false, success: true, failure: false };
export const FLAG_CONTENT = 'OK';

export function create(options: NotificationOptions<ReturnType<typeof FlagfileOptions>>): Notifier {
  const file = options.flagfile ?? options.filename;
  if (!file) throw new ConfigError([{ path: `notifications.${options.id}.flagfile`, message: 'required' }]);
  return {
    // Only the summary of a run that succeeded: a failure leaves the file alone (notify_on_failure changes nothing).
    wants: (event) => event.kind === 'run' && runSucceeded(event.run) && (options.notify_on_success ?? DEFAULTS.success),
    async notify() {
      await mkdir(dirname(file), { recursive: true });
      // Exactly what the original wrote (no newline). Written aside and renamed, so a reader
      // never sees an empty file; the rename also sets the modification time. Readable by the
      // monitoring's own user (mode 0644, as the original's file under the usual umask), not
      // only by the runner's umask 077.
      await writeFileAtomically(file, FLAG_CONTENT, { mode: 0o644 });
    },
  };
}
