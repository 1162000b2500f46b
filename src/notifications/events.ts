/**
 * Shared event selection for notifiers: which events a channel sends, from its notify_on_*
 * flags and the plugin's defaults (the original's per-type defaults).
 */
import type { NotificationCommon } from '../config/common.js';
import { succeeded, type RunReport, type SourceReport } from '../report.js';
import type { NotificationEvent } from './types.js';

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

/**
 * A notifier's `wants`: per-source kinds by their flags, the `run` summary by the run's outcome
 * (notify_on_success for a success or warning, notify_on_failure for a failure).
 */
export function makeWants(options: NotificationCommon, defaults: EventDefaults, scope: EventScope): (event: NotificationEvent) => boolean {
  const start = options.notify_on_start ?? defaults.start;
  const success = options.notify_on_success ?? defaults.success;
  const failure = options.notify_on_failure ?? defaults.failure;
  return (event) => {
    if (event.kind === 'run') return scope.perRun && (runSucceeded(event.run) ? success : failure);
    if (!scope.perSource) return false;
    return event.kind === 'start' ? start : event.kind === 'success' ? success : failure;
  };
}

/** The source a `success` or `failure` event reports as finished; none for a start, a summary or a failure outside any source. */
export function finishedSource(event: NotificationEvent): SourceReport | undefined {
  return event.kind === 'success' || event.kind === 'failure' ? event.source : undefined;
}

/** A run that stored everything it should (warnings included): the outcome notify_on_success is about. */
export function runSucceeded(run: RunReport): boolean {
  return succeeded(run.status);
}

/** Whether a `run` event is wanted given the run's outcome and the flags; other kinds are not judged here. */
export function runOutcomeWanted(event: NotificationEvent, options: NotificationCommon, defaults: EventDefaults): boolean {
  if (event.kind !== 'run') return true;
  return runSucceeded(event.run) ? (options.notify_on_success ?? defaults.success) : (options.notify_on_failure ?? defaults.failure);
}
