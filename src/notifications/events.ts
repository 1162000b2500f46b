/**
 * Shared event selection for notifiers: which event kinds a channel sends, from its
 * notify_on_* flags and the plugin's defaults (the original's per-type defaults).
 */
import type { NotificationCommon } from '../config/common.js';
import type { NotificationEvent, NotificationKind } from './types.js';

export interface EventDefaults {
  start: boolean;
  success: boolean;
  failure: boolean;
}

export interface EventScope {
  /** Sends `start`/`success`/`failure` per source. */
  perSource: boolean;
  /** Sends the `run` summary at the end. */
  perRun: boolean;
}

export function makeWants(options: NotificationCommon, defaults: EventDefaults, scope: EventScope): (kind: NotificationKind) => boolean {
  const start = options.notify_on_start ?? defaults.start;
  const success = options.notify_on_success ?? defaults.success;
  const failure = options.notify_on_failure ?? defaults.failure;
  return (kind) => {
    if (kind === 'run') return scope.perRun && (success || failure);
    if (!scope.perSource) return false;
    return kind === 'start' ? start : kind === 'success' ? success : failure;
  };
}

/** Whether a `run` event should be sent given the run's outcome and the flags. */
export function runOutcomeWanted(event: NotificationEvent, options: NotificationCommon, defaults: EventDefaults): boolean {
  if (event.kind !== 'run') return true;
  const ok = event.run.status === 'success' || event.run.status === 'warning';
  return ok ? (options.notify_on_success ?? defaults.success) : (options.notify_on_failure ?? defaults.failure);
}
