/**
 * Waiting for cloud resources, always interruptible: a run stopped by SIGINT/SIGTERM (or a
 * systemd timeout) must stop waiting at once so the cleanup can delete what the run created.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SourceError } from '../../errors.js';

/** Why the signal fired, as an Error. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(typeof reason === 'string' ? reason : 'aborted');
}

export interface PollState<T> {
  /** Stop waiting with this value. */
  done?: T;
  /** What the resource is doing now, for the timeout message and the log. */
  status: string;
}

export interface PollOptions {
  plugin: string;
  /** "temporary instance backup-runner-tmp-db-… to become available" */
  what: string;
  timeoutSeconds: number;
  intervalSeconds: number;
  signal: AbortSignal;
  /** Called when the status changes. */
  onStatus?: (status: string) => void;
}

/**
 * Calls `check` until it returns `done`, every `intervalSeconds`, for at most `timeoutSeconds`.
 * `check` may throw to stop with an error (a failed resource). Rejects with a SourceError on
 * timeout and with the abort reason when the signal fires.
 */
export async function pollUntil<T>(check: () => Promise<PollState<T>>, options: PollOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  let last: string | undefined;
  for (;;) {
    if (options.signal.aborted) throw abortReason(options.signal);
    const state = await check();
    if (state.status !== last) {
      last = state.status;
      options.onStatus?.(state.status);
    }
    if (state.done !== undefined) return state.done;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new SourceError(`gave up waiting for ${options.what} after ${options.timeoutSeconds} s (status: ${last}); raise wait_timeout if this is normal for it`, {
        plugin: options.plugin,
      });
    }
    // An abort ends the wait at once; the check at the top of the loop then throws its reason.
    await sleep(Math.min(options.intervalSeconds * 1000, left), undefined, { signal: options.signal }).catch(() => undefined);
  }
}
