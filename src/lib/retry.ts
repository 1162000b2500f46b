/**
 * Retries with exponential backoff and full jitter (the delay before attempt n+1 is random
 * between 0 and min(maxDelayMs, baseDelayMs x 2^(n-1))), bounded in attempts and in total
 * time: no retry whose delay would end past the deadline. Used by the notification dispatcher.
 * Permanent errors (an `isPermanent` verdict, e.g. HTTP 4xx other than 408/429) and an aborted
 * signal fail at once.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface RetryOptions {
  /** Attempts in all, the first included (default 3). */
  attempts?: number;
  /** First delay in ms (default 500). */
  baseDelayMs?: number;
  /** Longest single delay in ms (default 10 s). */
  maxDelayMs?: number;
  /** Give up once this much time has passed since the first attempt (default 60 s). */
  deadlineMs?: number;
  signal?: AbortSignal;
  isPermanent?: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/**
 * Resolves after `ms`; rejects as soon as `signal` aborts, with its reason (a deadline's
 * TimeoutError says more than the generic AbortError node:timers/promises rejects with).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch((error: unknown) => {
    throw signal?.aborted ? signal.reason : error;
  });
}

export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 3;
  const base = options.baseDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 10_000;
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  const wait = options.sleep ?? sleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= attempts || options.signal?.aborted || options.isPermanent?.(error)) throw error;
      const delay = Math.round(random() * Math.min(maxDelay, base * 2 ** (attempt - 1)));
      if (Date.now() + delay > deadline) throw error;
      options.onRetry?.(error, attempt, delay);
      await wait(delay, options.signal);
    }
  }
}
