/**
 * The job file's root schema and the loaded, validated Job the runner works from.
 */
import { z } from 'zod';
import { Compression, EncryptionSettings, Passphrase, STALL_TIMEOUT_TEXT } from './common.js';
import { duration } from './fields.js';
import { HookSettings } from './hooks.js';
import type { Bound, JobInfo } from '../plugin.js';
import type { Source, SourcePlugin } from '../sources/types.js';
import type { Destination, DestinationPlugin } from '../destinations/types.js';
import type { NotificationPlugin, Notifier } from '../notifications/types.js';
import type { SourceCommon, DestinationCommon, NotificationCommon } from './common.js';

const PluginList = z.array(z.record(z.string(), z.unknown()));

/** The later original's `"encryption": {"type": "symmetric", "passphrase": ...}` block. */
export const EncryptionBlock = z
  .strictObject({
    type: z.literal('symmetric').describe('Only "symmetric" (a passphrase) is known.'),
    passphrase: Passphrase.describe('Passphrase (or passphrase_file) for every source without its own passphrase or recipients.'),
  })
  .describe('The original\'s encryption block: the same as a root passphrase.');

/** Root keys. `sources`, `destinations` and `notifications` items are validated per plugin type. */
export const JobRootShape = {
  hostname: z.string().min(1).optional().describe("Host name used in key templates and reports (default: this machine's)."),
  env_file: z
    .string()
    .min(1)
    .optional()
    .describe('File of KEY=VALUE lines (relative to the job file; chmod 600) whose values ${VAR} takes before the environment: settings for a job started without one (vzdump hooks, cron).'),
  tmpdir: z.string().min(1).optional().describe('Temporary area for credentials files and spools (default /var/tmp).'),
  modules: z
    .array(z.string())
    .optional()
    .describe('Original tool: Python modules to load. Accepted and checked; not needed (every plugin is built in).'),
  state_dir: z
    .string()
    .min(1)
    .optional()
    .describe('Where locks and run history live (default /var/lib/backup-runner when writable, else $XDG_STATE_HOME/backup-runner).'),
  run_as_user: z
    .string()
    .min(1)
    .optional()
    .describe('Refuse to run unless the current user is this one (the original expected "backups"; RUN_AS_USER also sets it).'),
  key_template: z
    .string()
    .optional()
    .describe('Default key layout for every destination: {id} {hostname} {timestamp} {date} {file}.'),
  ...EncryptionSettings,
  encryption: z
    .union([EncryptionSettings.encryption.unwrap(), EncryptionBlock])
    .optional()
    .describe(
      '"none" stores every source unencrypted unless it says otherwise; the original\'s {"type": "symmetric", "passphrase": ...} block is the same as a root passphrase.',
    ),
  compression: Compression.optional().describe('Default compression for sources that do not set one (default zstd).'),
  sources: PluginList.min(1, 'list at least one source').describe('What to back up.'),
  destinations: PluginList.min(1, 'list at least one destination').describe('Where to store the backups.'),
  notifications: PluginList.optional().describe('Who to tell about the result.'),
  max_age: duration('`backup status` reports a source OVERDUE (exit 1) when its last success is older than this (e.g. 26h); a source may set its own.').optional(),
  stall_timeout: duration(STALL_TIMEOUT_TEXT).optional(),
  ...HookSettings,
};

export const JobRoot = z.strictObject(JobRootShape);
export type JobRoot = z.output<typeof JobRoot>;

/**
 * One item of a job file's list, validated: where it is, its plugin (for its type, its
 * capabilities and its docs; `create` is left out), and the plugin bound to its parsed options
 * (`create(ctx)`; see Bound in plugin.ts). `Options` is what the core knows of every plugin of
 * the kind: its common keys.
 */
export interface LoadedPlugin<Plugin, Options, Instance> extends Bound<Options, Instance> {
  /** JSON path in the job file, e.g. `sources[1]`. */
  readonly path: string;
  readonly plugin: Omit<Plugin, 'create'>;
}

export type LoadedSource = LoadedPlugin<SourcePlugin, SourceCommon & Record<string, unknown>, Source>;
export type LoadedDestination = LoadedPlugin<DestinationPlugin, DestinationCommon & Record<string, unknown>, Destination>;
/** A notification's id is always set: the loader gives one without an id `<type>-<position>`. */
export type LoadedNotification = LoadedPlugin<NotificationPlugin, NotificationCommon & Record<string, unknown> & { id: string }, Notifier>;

export interface Job {
  info: JobInfo;
  root: JobRoot;
  tmpdir: string;
  stateDir: string;
  sources: LoadedSource[];
  destinations: LoadedDestination[];
  notifications: LoadedNotification[];
  /** Non-fatal remarks from loading (legacy keys, inferred types, unknown modules). */
  warnings: string[];
}
