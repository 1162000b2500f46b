import type { z } from 'zod';
import type { AnyObjectSchema, PluginDefinition } from '../plugin.js';
import type { NotificationCommon } from '../config/common.js';
import type { RunReport, SourceReport } from '../report.js';

/**
 * What a notifier is told. `start`, `success` and `failure` are per source, as the original
 * sent them; `run` is the summary at the end of the run (overall status, every source).
 */
export type NotificationEvent =
  | { kind: 'start'; source: SourceReport; run: RunReport }
  | { kind: 'success'; source: SourceReport; run: RunReport }
  | { kind: 'failure'; source: SourceReport | undefined; run: RunReport }
  | { kind: 'run'; run: RunReport };

export type NotificationKind = NotificationEvent['kind'];

export interface NotifyOptions {
  /** Aborted when the notifier's timeout expires. */
  signal: AbortSignal;
}

export interface Notifier {
  /**
   * Tells the channel about the event. Rejects on failure; the caller logs a warning and never
   * lets it change the backup's result. Called only for events `wants` accepts, so it does not
   * ask again.
   */
  notify(event: NotificationEvent, options: NotifyOptions): Promise<void>;
  /**
   * The one decision whether this channel sends `event`: its kind and outcome against the
   * notify_on_* settings and what the channel sends at all (a flag file only a success).
   * The dispatcher asks it; nothing is sent in a dry run, so no notifier checks for one.
   */
  wants(event: NotificationEvent): boolean;
}

export interface NotificationCapabilities {
  /**
   * The channel records runs as data (metrics, dashboards, search indexes, flag files) rather
   * than alerting a person. It has its own view of a missing backup (an alert on the age of
   * last_success), so `backup status --notify` does not send it the overdue finding, which it
   * would store as a failed backup run.
   */
  records?: boolean;
}

export type NotificationPlugin<Schema extends AnyObjectSchema = AnyObjectSchema> = PluginDefinition<
  Schema,
  NotificationCommon,
  Notifier
> &
  NotificationCapabilities;

export function defineNotification<Schema extends AnyObjectSchema>(
  plugin: NotificationPlugin<Schema>,
): NotificationPlugin<Schema> {
  return plugin;
}

export type NotificationOptions<Schema extends AnyObjectSchema> = z.output<Schema> & NotificationCommon;
