/**
 * Keys every plugin of a kind accepts, merged into each plugin's own schema by the loader.
 * Names and 0/1 flags follow the original tool's job files.
 */
import { z } from 'zod';
import { HookSettings } from './hooks.js';
import { MIN_PASSPHRASE_LENGTH } from '../secrets.js';
import { count, duration, flag, rate, text } from './fields.js';

export const DEFAULT_KEY_TEMPLATE = '{id}/{timestamp}/{file}';

export const STALL_TIMEOUT_TEXT =
  'Stop a dump when no data moved for this long: a source that stopped without ending (a hung mount, a lock wait, a dead connection) fails, a destination that stopped taking data is dropped (e.g. 30m; default 1h; 0 never). The job\'s value is the default of every source.';

const id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-" (it becomes part of storage keys)')
  .describe('Identifier, unique within its list; sources use it as their folder on the destinations.');

export const Compression = z.enum(['zstd', 'gzip', 'none']).describe('Compression of each dump before encryption.');
export type Compression = z.infer<typeof Compression>;

/** An encryption passphrase: a short one is guessable, and too short to mask reliably in logs. */
export const Passphrase = z
  .string()
  .min(MIN_PASSPHRASE_LENGTH, `too short: an encryption passphrase needs at least ${MIN_PASSPHRASE_LENGTH} characters`);

export const EncryptionSettings = {
  passphrase: Passphrase.optional()
    .describe('Passphrase for OpenPGP symmetric encryption (gpg --symmetric compatible). Secret: prefer passphrase_file or ${ENV}.'),
  recipients: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .optional()
    .describe(
      'Encrypt to these OpenPGP public keys instead of a passphrase: armored key text, a path to an armored/binary key file, or a key id/fingerprint from the local gpg keyring.',
    ),
  encryption: z
    .enum(['openpgp', 'none'])
    .optional()
    .describe('"none" stores dumps unencrypted (a warning is logged). Default: openpgp with passphrase or recipients.'),
  compression: Compression.optional(),
  compression_level: z.coerce
    .number()
    .int()
    .min(1)
    .max(19)
    .optional()
    .describe('Compression level: zstd 1-19 (default 3), gzip 1-9 (default 6).'),
};

export const SourceCommon = z.object({
  id,
  type: text('Source type.'),
  name: z.string().optional().describe('Description of what is backed up, for reports.'),
  ...EncryptionSettings,
  compress_only: flag('Original tool: 1 means gzip and no encryption.').optional(),
  tmpdir: z.string().min(1).optional().describe('Temporary directory for this source (credentials files, spools).'),
  max_age: duration('`backup status` reports this source OVERDUE (exit 1) when its last success is older than this (e.g. 26h); overrides the job\'s max_age.').optional(),
  stall_timeout: duration(STALL_TIMEOUT_TEXT).optional(),
  ...HookSettings,
});
export type SourceCommon = z.output<typeof SourceCommon>;

/** The text of a keep_* key: borg prune / restic forget semantics, as src/pipeline/retention.ts plans them. */
function periodRule(periods: string, one: string): string {
  return (
    `Grandfather-father-son: keep the last (newest) whole run of each of this many ${periods} that have one, counted back from the newest run ` +
    `in the host's local time zone (TZ honoured); ${one} without a run does not count, and when fewer have runs the oldest whole run is kept too. ` +
    'A run is kept when any keep rule (keep_*, or retention_copies/retention_days together) keeps it.'
  );
}

export const DestinationCommon = z.object({
  id,
  type: text('Destination type.'),
  name: z.string().optional().describe('Description, for reports.'),
  retention_copies: count('Keep this many newest whole runs of each source (with retention_days: a run goes when either says so).', 1).optional(),
  retention_days: count('Remove runs older than this many days (with retention_copies: a run goes when either says so).', 1).optional(),
  keep_hourly: count(periodRule('hours', 'an hour')).optional(),
  keep_daily: count(periodRule('days', 'a day')).optional(),
  keep_weekly: count(periodRule('ISO weeks (Monday to Sunday)', 'a week')).optional(),
  keep_monthly: count(periodRule('months', 'a month')).optional(),
  keep_yearly: count(periodRule('years', 'a year')).optional(),
  key_template: z
    .string()
    .optional()
    .describe('Key layout on this destination; placeholders {id} {hostname} {timestamp} {date} {file}. Default: {id}/{timestamp}/{file}.'),
  upload_rate_limit: rate('Upper limit of the upload rate to this destination in bytes per second, e.g. 10M (other destinations of the run slow down with it: one read of the source feeds all).').optional(),
});
export type DestinationCommon = z.output<typeof DestinationCommon>;

export const NotificationCommon = z.object({
  id: id.optional().describe('Identifier used in logs; defaults to the type and position.'),
  type: text('Notification type.'),
  name: z.string().optional().describe('Description, for logs.'),
  notify_on_start: flag('Send an event when a source starts.').optional(),
  notify_on_success: flag('Send an event when a source succeeds (and the run summary when all did).').optional(),
  notify_on_failure: flag('Send an event when a source or the run fails.').optional(),
  timeout_seconds: z.coerce.number().positive().max(300).optional().describe('Give up on this channel after this long (default 30).'),
});
export type NotificationCommon = z.output<typeof NotificationCommon>;
