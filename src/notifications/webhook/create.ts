/**
 * The `webhook` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { createHmac } from 'node:crypto';
import { redactDeep, redactor } from '../../secrets.js';
import { makeWants } from '../events.js';
import { sendHttp } from '../../lib/http.js';
import { reportForExport } from '../message.js';
import type { NotificationEvent, Notifier, NotificationOptions } from '../types.js';
import type { WebhookOptions } from './schema.js';

export const WEBHOOK_FORMAT = 'backup-runner.webhook/1';
export const SIGNATURE_HEADER = 'X-Backup-Signature';

/** Header names whose values are credentials: registered with the redactor so logs never show them. */
const SENSITIVE_HEADER = /authorization|token|key|secret|password|cookie|signature|auth/i;

/** The JSON the receiver gets; see README.md for the field list. */
export function webhookPayload(event: NotificationEvent): string {
  const source = event.kind === 'run' ? null : (event.source ?? null);
  return JSON.stringify({
    format: WEBHOOK_FORMAT,
    event: event.kind,
    source: source ? redactDeep(source) : null,
    run: reportForExport(event.run),
  });
}

export function webhookSignature(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function create(options: NotificationOptions<ReturnType<typeof WebhookOptions>>): Notifier {
  const events = new Set(options.events ?? ['run']);
  const flags = makeWants(options, { start: true, success: true, failure: true }, { perSource: true, perRun: true });
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (SENSITIVE_HEADER.test(name)) redactor.add(value);
  }
  return {
    // The summary honours notify_on_success / notify_on_failure on the run's outcome (makeWants).
    wants: (event) => events.has(event.kind) && flags(event),
    async notify(event, { signal }) {
      const body = webhookPayload(event);
      // Lower-case names, so a configured `Content-Type` replaces ours instead of being appended to it.
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': `backup-runner/${event.run.toolVersion}`,
        'x-backup-event': event.kind,
      };
      for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
      if (options.hmac_secret) headers[SIGNATURE_HEADER.toLowerCase()] = webhookSignature(body, options.hmac_secret);
      await sendHttp({ method: 'POST', url: options.url, headers, body, signal, plugin: options.id ?? 'webhook' });
    },
  };
}
