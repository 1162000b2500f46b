/**
 * Retries with exponential backoff and full jitter, bounded in attempts and in total time.
 * Used for notifications and for transient destination errors; permanent errors (an
 * `isPermanent` verdict, e.g. HTTP 4xx other than 408/429) fail at once.
 */

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

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
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
