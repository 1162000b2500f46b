/**
 * A virtual clock for code under test that waits through `setTimeout` of node:timers/promises
 * (the cloud sources' status polling and retry pauses): while it is on, such a wait returns at
 * once and moves `Date` on by its length, so a wait of seconds costs nothing and a deadline in
 * seconds is reached after exactly the waits that add up to it, however fast the machine is.
 * Nothing else moves the clock: `Date` stands still between waits.
 *
 * The test file routes the module through it (vi.mock is hoisted, so it is written there):
 *
 *   vi.mock(import('node:timers/promises'), async (original) => (await import('../support/virtual-clock.js')).virtualTimers(await original()));
 *   beforeEach(useVirtualClock);
 *   afterEach(useRealClock);
 */
import type * as TimersPromises from 'node:timers/promises';
import { vi } from 'vitest';

let virtual = false;

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}

/** node:timers/promises with a setTimeout that follows the virtual clock while it is on. */
export function virtualTimers(real: typeof TimersPromises): typeof TimersPromises {
  const setTimeout = async <T = void>(ms?: number, value?: T, options?: { signal?: AbortSignal }): Promise<T> => {
    if (!virtual) return real.setTimeout(ms, value, options);
    if (options?.signal?.aborted) throw abortError(options.signal);
    // Other work of this turn (responses, stream data) goes first, as it would during a real wait.
    await new Promise((resolve) => setImmediate(resolve));
    if (options?.signal?.aborted) throw abortError(options.signal);
    vi.setSystemTime(Date.now() + Math.max(1, ms ?? 1));
    return value as T;
  };
  return { ...real, setTimeout: setTimeout as typeof real.setTimeout };
}

/** Starts the virtual clock at the real time (only `Date` is faked: timers and I/O stay real). */
export function useVirtualClock(): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  virtual = true;
}

export function useRealClock(): void {
  virtual = false;
  vi.useRealTimers();
}
