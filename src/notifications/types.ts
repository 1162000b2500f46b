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
   * lets it change the backup's result. Called only for the kinds `wants` accepts.
   */
  notify(event: NotificationEvent, options: NotifyOptions): Promise<void>;
  /** Which event kinds this notifier sends, given its notify_on_* settings. */
  wants(kind: NotificationKind): boolean;
}

export type NotificationPlugin<Schema extends AnyObjectSchema = AnyObjectSchema> = PluginDefinition<
  Schema,
  NotificationCommon,
  Notifier
>;

export function defineNotification<Schema extends AnyObjectSchema>(
  plugin: NotificationPlugin<Schema>,
): NotificationPlugin<Schema> {
  return plugin;
}

export type NotificationOptions<Schema extends AnyObjectSchema> = z.output<Schema> & NotificationCommon;
