import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NotificationCommon } from '../../src/config/common.js';
import { pluginSchema } from '../../src/config/validate.js';
import { isPermanentHttpError } from '../../src/lib/http.js';
import { WEBHOOK_FORMAT } from '../../src/notifications/webhook/create.js';
import { webhookNotification } from '../../src/notifications/webhook/index.js';
import type { RunReport, SourceReport } from '../../src/report.js';
import { redact, redactor } from '../../src/secrets.js';
import { startReceiver, type Receiver, type RecordedRequest } from '../support/http-receiver.js';
import { buildNotifier, deliver, rejectionOf } from '../support/notifier-harness.js';
import { eventsOf, makeRunReport, makeSourceReport } from '../support/reports.js';

const HMAC_SECRET = 'whsec-4b1d9e77c0a2';
const BEARER = 'Bearer hook-token-9f8e7d6c';
const PASSPHRASE = 'pass-phrase-webhook-5521';

interface Envelope {
  format: string;
  event: string;
  source: SourceReport | null;
  run: RunReport;
}

/** What a receiver of our documented webhook does: check the signature over the raw body. */
function verifySignature(req: RecordedRequest, secret: string): boolean {
  const header = req.headers['x-backup-signature'];
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(req.body).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function failedRun(): RunReport {
  return makeRunReport({
    status: 'failure',
    sources: [
      makeSourceReport({ id: 'etc', type: 'folder' }),
      makeSourceReport({ id: 'db', status: 'failure', error: `gpg failed: bad passphrase ${PASSPHRASE}` }),
    ],
    logTail: [`DEBUG using passphrase ${PASSPHRASE}`, 'ERROR db failed'],
  });
}

describe('webhook notification', () => {
  let receiver: Receiver;

  beforeAll(async () => {
    redactor.add(PASSPHRASE);
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => {
    receiver.clear();
    receiver.respond(() => ({ status: 204 }));
  });

  it('POSTs the run report as JSON once per run, signed with HMAC-SHA256', async () => {
    const notifier = await buildNotifier(webhookNotification, {
      id: 'hook',
      url: `${receiver.url}/hooks/backup?team=ops`,
      headers: { Authorization: BEARER, 'X-Team': 'ops' },
      hmac_secret: HMAC_SECRET,
    });
    await deliver(notifier, eventsOf(failedRun()));

    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hooks/backup?team=ops');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.authorization).toBe(BEARER);
    expect(req.headers['x-team']).toBe('ops');
    expect(req.headers['x-backup-event']).toBe('run');
    expect(req.headers['user-agent']).toMatch(/^backup-runner\//);
    expect(verifySignature(req, HMAC_SECRET)).toBe(true);
    expect(verifySignature(req, 'another-secret')).toBe(false);

    const body = req.json<Envelope>();
    expect(body.format).toBe(WEBHOOK_FORMAT);
    expect(body.event).toBe('run');
    expect(body.source).toBeNull();
    expect(body.run).toMatchObject({ status: 'failure', hostname: 'db1.example.org', jobName: 'nightly', jobPath: '/etc/backup/nightly.json' });
    expect(body.run.sources.map((s) => [s.id, s.status])).toEqual([
      ['etc', 'success'],
      ['db', 'failure'],
    ]);
    expect(body.run.sources[1]!.error).toBe('gpg failed: bad passphrase ***');
    expect(body.run.sources[0]!.artifacts[0]!.storedBytes).toBe(2 * 1024 * 1024);

    // No secret in anything the receiver got.
    const everything = `${req.path}\n${JSON.stringify(req.headers)}\n${req.text}`;
    expect(everything).not.toContain(PASSPHRASE);
    expect(everything).not.toContain(HMAC_SECRET);
  });

  it('the signature covers the exact body: a changed byte fails verification', async () => {
    const notifier = await buildNotifier(webhookNotification, { id: 'hook', url: `${receiver.url}/h`, hmac_secret: HMAC_SECRET });
    await deliver(notifier, eventsOf(makeRunReport()));
    const req = receiver.requests[0]!;
    expect(verifySignature(req, HMAC_SECRET)).toBe(true);
    const tampered = { ...req, body: Buffer.from(req.text.replace('"success"', '"failure"')) };
    expect(verifySignature(tampered, HMAC_SECRET)).toBe(false);
  });

  it('sends no signature header without hmac_secret', async () => {
    const notifier = await buildNotifier(webhookNotification, { id: 'hook', url: `${receiver.url}/h` });
    await deliver(notifier, eventsOf(makeRunReport()));
    expect(receiver.requests[0]!.headers['x-backup-signature']).toBeUndefined();
  });

  it('sends the per-source events chosen in `events`, each with its source', async () => {
    const notifier = await buildNotifier(webhookNotification, { id: 'hook', url: `${receiver.url}/h`, events: ['start', 'failure'] });
    await deliver(notifier, eventsOf(failedRun()));
    const got = receiver.requests.map((r) => r.json<Envelope>()).map((b) => [b.event, b.source?.id]);
    expect(got).toEqual([
      ['start', 'etc'],
      ['start', 'db'],
      ['failure', 'db'],
    ]);
    expect(receiver.requests.map((r) => r.headers['x-backup-event'])).toEqual(['start', 'start', 'failure']);
    expect(receiver.requests[2]!.json<Envelope>().source!.error).toBe('gpg failed: bad passphrase ***');
  });

  it('honours notify_on_success / notify_on_failure for the run summary', async () => {
    const notifier = await buildNotifier(webhookNotification, { id: 'hook', url: `${receiver.url}/h`, notify_on_success: 0 });
    await deliver(notifier, eventsOf(makeRunReport()));
    expect(receiver.requests).toHaveLength(0);
    await deliver(notifier, eventsOf(failedRun()));
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]!.json<Envelope>().run.status).toBe('failure');
  });

  it('a configured Content-Type replaces the default instead of being appended', async () => {
    const notifier = await buildNotifier(webhookNotification, { id: 'hook', url: `${receiver.url}/h`, headers: { 'Content-Type': 'application/vnd.backup+json' } });
    await deliver(notifier, eventsOf(makeRunReport()));
    expect(receiver.requests[0]!.headers['content-type']).toBe('application/vnd.backup+json');
  });

  it('fails with the HTTP status and without the URL path or query (they carry tokens)', async () => {
    receiver.respond(() => ({ status: 500, body: 'upstream broke' }));
    const notifier = await buildNotifier(webhookNotification, { id: 'hook', url: `${receiver.url}/hooks/secret-path-token?key=abc123` });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport() }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toContain('HTTP 500');
    expect(error.message).toContain('upstream broke');
    expect(error.message).not.toContain('secret-path-token');
    expect(error.message).not.toContain('abc123');
    expect(isPermanentHttpError(error)).toBe(false);

    receiver.respond(() => ({ status: 410, body: 'gone' }));
    const gone = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport() }, { signal: AbortSignal.timeout(5000) }));
    expect(isPermanentHttpError(gone)).toBe(true);
  });

  it('gives up when the signal aborts (the dispatcher timeout)', async () => {
    // The signal aborts while the request is at the server, before the answer is written: a
    // channel that keeps waiting gets that answer and resolves, which fails the test at once.
    const controller = new AbortController();
    receiver.respond(() => {
      controller.abort(new Error('the notification timeout'));
      return { status: 200 };
    });
    const notifier = await buildNotifier(webhookNotification, { id: 'hook', url: `${receiver.url}/slow` });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport() }, { signal: controller.signal }));
    expect(error.message).toMatch(/timed out/);
  });

  it('masks credential-like header values in logs, but not ordinary ones', async () => {
    await buildNotifier(webhookNotification, { id: 'hook', url: `${receiver.url}/h`, headers: { 'X-Api-Key': 'k-77aa-secret', 'X-Team': 'platform-ops' } });
    expect(redact('sent with k-77aa-secret')).toBe('sent with ***');
    expect(redact('team platform-ops')).toBe('team platform-ops');
  });

  it('rejects bad options as the loader would', () => {
    const schema = pluginSchema(NotificationCommon, webhookNotification);
    expect(schema.safeParse({ type: 'webhook', url: 'ftp://example.org/x' }).success).toBe(false);
    expect(schema.safeParse({ type: 'webhook', url: 'https://example.org/x', events: ['finish'] }).success).toBe(false);
    expect(schema.safeParse({ type: 'webhook', url: 'https://example.org/x', secret_header: 'x' }).success).toBe(false);
    expect(schema.safeParse({ type: 'webhook', url: 'https://example.org/x', events: ['run', 'failure'], notify_on_failure: 1 }).success).toBe(true);
  });
});
