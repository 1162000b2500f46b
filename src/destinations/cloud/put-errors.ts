/**
 * How a cloud destination's put tells its own failures (the data stream failed, or the run
 * aborted the put) from the service's.
 */

/** Whether the failure was the put's own abort (its signal), not the service. */
export function isAbort(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR'));
}

/** "the stream failed: <message>" for the put's own failures (source error or abort). */
export function streamFailure(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const reason = signal.reason instanceof Error ? signal.reason.message : 'aborted';
    return `upload aborted (${reason}); nothing was stored`;
  }
  return `the data stream failed (${error instanceof Error ? error.message : String(error)}); nothing was stored`;
}
