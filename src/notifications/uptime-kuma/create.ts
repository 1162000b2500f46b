/**
 * The `uptime-kuma` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { ConfigError } from '../../errors.js';
import { redact } from '../../secrets.js';
import { totalStoredBytes, type RunReport } from '../../report.js';
import { channelId, scrubUrlParts, send } from '../chat/chat.js';
import { runOutcomeWanted, runSucceeded, type EventDefaults } from '../events.js';
import { HttpStatusError, safeOrigin } from '../../lib/http.js';
import { formatBytes, formatDuration } from '../../lib/format.js';
import type { Notifier, NotificationOptions } from '../types.js';
import type { UptimeKumaOptions } from './schema.js';

const DEFAULTS: EventDefaults = { start: false, success: true, failure: true };
/** Kuma shows msg in its event list and alert texts: keep it to one short line. */
export const MAX_MSG = 250;
/** Kuma rejects a ping outside 0..1e11. */
const MAX_PING = 1e11;

function pushUrlOf(options: UptimeKumaOptions): string | undefined {
  if (options.push_url) return options.push_url;
  if (options.url && options.token) return `${options.url.replace(/\/+$/, '')}/api/push/${encodeURIComponent(options.token)}`;
  return undefined;
}

/** The run's duration in ms, for `ping`. */
export function runMilliseconds(run: RunReport, now = Date.now()): number {
  let ms = run.durationSeconds !== undefined ? run.durationSeconds * 1000 : NaN;
  if (!Number.isFinite(ms)) ms = (run.finishedAt ? Date.parse(run.finishedAt) : now) - Date.parse(run.startedAt);
  if (!Number.isFinite(ms)) return 0;
  return Math.min(MAX_PING, Math.max(0, Math.round(ms)));
}

/** One line: the outcome, sizes and duration, or what failed. */
export function pushMessage(run: RunReport): string {
  const ok = runSucceeded(run);
  let text: string;
  if (ok) {
    const bytes = run.sources.reduce((sum, s) => sum + totalStoredBytes(s), 0);
    const warnings = run.sources.reduce((sum, s) => sum + s.warnings.length, 0);
    const n = run.sources.length;
    text = `OK: ${n} source${n === 1 ? '' : 's'}, ${formatBytes(bytes)} in ${formatDuration(run.durationSeconds)}`;
    if (warnings) text += `, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  } else {
    const failed = run.sources.filter((s) => s.status === 'failure');
    const parts = failed.map((s) => `${s.id}: ${s.error ?? 'failed'}`);
    if (run.error) parts.unshift(run.error);
    text = `FAILED: ${parts.join('; ') || 'backup run failed'}`;
  }
  const oneLine = redact(text).replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_MSG ? `${oneLine.slice(0, MAX_MSG - 1)}…` : oneLine;
}

export function create(options: NotificationOptions<ReturnType<typeof UptimeKumaOptions>>): Notifier {
  const plugin = channelId(options, 'uptime-kuma');
  const pushUrl = pushUrlOf(options);
  if (!pushUrl) throw new ConfigError([{ path: `notifications.${plugin}.push_url`, message: 'required (or url and token)' }]);
  const origin = safeOrigin(pushUrl);
  return {
    // `on_failure: "skip"` pushes nothing for a failure: the monitor's heartbeat interval expires.
    wants: (event) => event.kind === 'run' && runOutcomeWanted(event, options, DEFAULTS) && (runSucceeded(event.run) || options.on_failure !== 'skip'),
    async notify(event, { signal }) {
      const ok = runSucceeded(event.run);
      const url = new URL(pushUrl);
      // The copied push URL carries defaults (?status=up&msg=OK&ping=): ours replace them.
      url.searchParams.set('status', ok ? 'up' : 'down');
      url.searchParams.set('msg', pushMessage(event.run));
      url.searchParams.set('ping', String(runMilliseconds(event.run)));
      const response = await send({ method: 'GET', url: url.toString(), signal, plugin, acceptStatus: [404] });
      let answer: { ok?: unknown; msg?: unknown } = {};
      try {
        answer = JSON.parse(response.text) as typeof answer;
      } catch {
        // not JSON: judged by the status alone
      }
      const kumaMsg = typeof answer.msg === 'string' ? scrubUrlParts(redact(answer.msg), pushUrl).slice(0, 200) : '';
      if (response.status === 404 && /not found or not active/i.test(kumaMsg)) {
        throw new HttpStatusError(
          404,
          `Uptime Kuma at ${origin} has no active push monitor for notification "${plugin}" ("${kumaMsg}"): copy the push URL from the monitor again and check that the monitor is not paused`,
          plugin,
        );
      }
      if (response.status === 404 || answer.ok === false) {
        throw new HttpStatusError(
          response.status === 404 ? 404 : 502,
          `Uptime Kuma at ${origin} rejected the push for notification "${plugin}" (HTTP ${response.status}${kumaMsg ? `: ${kumaMsg}` : ''})`,
          plugin,
        );
      }
    },
  };
}
