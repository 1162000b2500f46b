/**
 * The `healthchecks` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../../errors.js';
import { redact } from '../../secrets.js';
import { channelId, send, tailBytes } from '../chat/chat.js';
import { runOutcomeWanted, runSucceeded, type EventDefaults } from '../events.js';
import { HttpStatusError, safeOrigin } from '../../lib/http.js';
import { eventBody, eventTitle } from '../message.js';
import type { NotificationEvent, Notifier, NotificationOptions } from '../types.js';
import type { HealthchecksOptions } from './schema.js';

const DEFAULTS: EventDefaults = { start: true, success: true, failure: true };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `rid` must be a UUID in canonical form. A run id that is one is used as is; any other run id
 * is mapped to a stable UUID (version 8, from its SHA-256), so start and end still match.
 */
export function runUuid(runId: string): string {
  if (UUID.test(runId)) return runId.toLowerCase();
  const h = createHash('sha256').update(runId).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x80;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function pingUrlOf(options: HealthchecksOptions): string | undefined {
  if (options.url) return options.url;
  if (options.ping_key && options.slug) return `${options.base.replace(/\/+$/, '')}/${encodeURIComponent(options.ping_key)}/${options.slug}`;
  return undefined;
}

type Signal = 'start' | 'success' | 'fail';

export function create(options: NotificationOptions<ReturnType<typeof HealthchecksOptions>>): Notifier {
  const plugin = channelId(options, 'healthchecks');
  const found = pingUrlOf(options);
  if (!found) throw new ConfigError([{ path: `notifications.${plugin}.url`, message: 'required (or ping_key and slug)' }]);
  const pingUrl: string = found;
  const origin = safeOrigin(pingUrl);
  const start = options.notify_on_start ?? DEFAULTS.start;
  /** Runs whose /start was sent (or is being sent): one per run, not one per source. */
  const started = new Set<string>();

  async function ping(signal: Signal, event: NotificationEvent, abort: AbortSignal): Promise<void> {
    const url = new URL(pingUrl);
    const suffix = signal === 'success' ? '' : `/${signal}`;
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${suffix}`;
    url.searchParams.set('rid', runUuid(event.run.runId));
    if (options.create && !options.url) url.searchParams.set('create', '1');
    const text = redact(`${eventTitle(event)}\n${eventBody(event, { logLines: 500 })}\n`);
    const response = await send({
      method: 'POST',
      url: url.toString(),
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: tailBytes(text, options.max_log_bytes),
      signal: abort,
      plugin,
      acceptStatus: [404, 409],
    });
    // hc-ping.com answers 200 "OK (not found)" for an unknown UUID; self-hosted answers 404.
    if (response.status === 404 || /^OK \(not found\)/i.test(response.text.trim())) {
      throw new HttpStatusError(
        404,
        `Healthchecks at ${origin} has no check for notification "${plugin}": check the ping URL (or ping_key and slug), or set create: 1 to create it`,
        plugin,
      );
    }
    if (response.status === 409) {
      throw new HttpStatusError(409, `Healthchecks at ${origin}: the slug of notification "${plugin}" matches several checks; make it unique`, plugin);
    }
  }

  return {
    // The `run` summary also follows a failure outside any source (job file, lock): one /fail.
    wants: (event) => (event.kind === 'start' ? start : event.kind === 'run' ? runOutcomeWanted(event, options, DEFAULTS) : false),
    async notify(event, { signal }) {
      if (event.kind !== 'start') return ping(runSucceeded(event.run) ? 'success' : 'fail', event, signal);
      // The first source's start starts the check; the run's other sources do not restart it.
      if (started.has(event.run.runId)) return;
      started.add(event.run.runId);
      try {
        await ping('start', event, signal);
      } catch (error) {
        started.delete(event.run.runId);
        throw error;
      }
    },
  };
}
