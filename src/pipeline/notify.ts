/**
 * Telling the job's notification channels. A channel failure is a warning naming the channel;
 * it is retried with backoff (bounded by the channel's timeout), and never changes the
 * backup's result or hides its error.
 */
import type { LoadedNotification } from '../config/job.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CreateContext } from '../plugin.js';
import { withRetry, type RetryOptions } from '../lib/retry.js';
import { isPermanentHttpError } from '../lib/http.js';
import type { NotificationEvent, Notifier } from '../notifications/types.js';

const DEFAULT_TIMEOUT_SECONDS = 30;
/** Attempts per event and channel, the first included. */
export const NOTIFY_ATTEMPTS = 3;

/** The waits between attempts; tests replace the sleep so that retries need no wall-clock time. */
export type RetryTiming = Pick<RetryOptions, 'sleep' | 'random'>;

interface ReadyNotifier {
  id: string;
  type: string;
  timeoutMs: number;
  notifier: Notifier;
}

export interface NotificationOutcome {
  id: string;
  kind: NotificationEvent['kind'];
  ok: boolean;
  error?: string;
}

export class NotificationDispatcher {
  private readonly ready: ReadyNotifier[] = [];
  readonly outcomes: NotificationOutcome[] = [];

  private constructor(
    private readonly logger: Logger,
    private readonly timing: RetryTiming,
  ) {}

  /** Builds every notifier; one that cannot be built is logged and left out, never fatal. */
  static async create(notifications: readonly LoadedNotification[], ctx: CreateContext, timing: RetryTiming = {}): Promise<NotificationDispatcher> {
    const dispatcher = new NotificationDispatcher(ctx.logger, timing);
    for (const n of notifications) {
      try {
        const notifier = await n.create(ctx);
        dispatcher.ready.push({
          id: n.options.id,
          type: n.plugin.type,
          timeoutMs: (n.options.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
          notifier,
        });
      } catch (error) {
        ctx.logger.warn({ notification: n.options.id }, `notification ${n.options.id} could not be set up: ${describeError(error)}`);
      }
    }
    return dispatcher;
  }

  /** Sends the event to every channel that wants it, in parallel; resolves when all settled. */
  async emit(event: NotificationEvent): Promise<void> {
    await Promise.all(
      this.ready.filter((r) => r.notifier.wants(event)).map((r) => this.send(r, event)),
    );
  }

  private async send(r: ReadyNotifier, event: NotificationEvent): Promise<void> {
    // One deadline for all attempts: a channel never delays the run by more than its timeout.
    const deadline = AbortSignal.timeout(r.timeoutMs);
    try {
      await withRetry(
        () => r.notifier.notify(event, { signal: deadline }),
        {
          ...this.timing,
          attempts: NOTIFY_ATTEMPTS,
          baseDelayMs: 1000,
          deadlineMs: r.timeoutMs,
          signal: deadline,
          isPermanent: isPermanentHttpError,
          onRetry: (error, attempt, delay) =>
            this.logger.debug({ notification: r.id }, `notification ${r.id} attempt ${attempt} failed (${describeError(error)}); retrying in ${delay} ms`),
        },
      );
      this.outcomes.push({ id: r.id, kind: event.kind, ok: true });
      this.logger.debug({ notification: r.id, event: event.kind }, `notified ${r.id}`);
    } catch (error) {
      const message = deadline.aborted ? `timed out after ${r.timeoutMs / 1000} s` : describeError(error);
      this.outcomes.push({ id: r.id, kind: event.kind, ok: false, error: message });
      this.logger.warn({ notification: r.id, event: event.kind }, `notification ${r.id} (${r.type}) failed: ${message}`);
    }
  }
}
