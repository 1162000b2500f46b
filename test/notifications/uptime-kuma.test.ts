import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpStatusError, isPermanentHttpError } from '../../src/lib/http.js';
import { MAX_MSG, pushMessage, runMilliseconds } from '../../src/notifications/uptime-kuma/create.js';
import { uptimeKumaNotification } from '../../src/notifications/uptime-kuma/index.js';
import { startReceiver, type Receiver, type RecordedRequest, type ReceiverResponse } from '../support/http-receiver.js';
import { buildNotifier, deliver, rejectionOf } from '../support/notifier-harness.js';
import { eventsOf, makeRunReport, makeSourceReport } from '../support/reports.js';

const TOKEN = 'kumaPushTok3n';

/**
 * Uptime Kuma's push endpoint as its server behaves (1.23 and 2.x):
 * GET only, parameters from the query string only; status=up is UP, anything else DOWN; ping
 * must be a number 0..1e11; unknown or paused monitor: 404 {"ok":false,"msg":"Monitor not found or not active."}.
 */
function kuma(pushes: { status: string; msg: string; ping: number }[]) {
  return (req: RecordedRequest): ReceiverResponse => {
    const match = /^\/api\/push\/([^/]+)$/.exec(req.pathname);
    if (req.method !== 'GET' || !match) return { status: 404, body: `Cannot ${req.method} ${req.pathname}` };
    if (decodeURIComponent(match[1]!) !== TOKEN) return { status: 404, json: { ok: false, msg: 'Monitor not found or not active.' } };
    const pingText = req.query.get('ping');
    const ping = pingText === null || pingText === '' ? null : Number(pingText);
    if (ping !== null && !(Number.isFinite(ping) && ping >= 0 && ping <= 1e11)) return { status: 404, json: { ok: false, msg: 'Invalid ping value' } };
    pushes.push({ status: req.query.get('status') === 'up' ? 'up' : 'down', msg: req.query.get('msg') ?? '', ping: ping ?? -1 });
    return { json: { ok: true } };
  };
}

describe('uptime-kuma notification', () => {
  let receiver: Receiver;
  let pushes: { status: string; msg: string; ping: number }[];
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.clear();
    pushes = [];
    receiver.respond(kuma(pushes));
  });

  it('pushes once per run: status=up with a summary and the run duration as ping', async () => {
    const run = makeRunReport({ sources: [makeSourceReport({ id: 'etc' }), makeSourceReport({ id: 'db' })], durationSeconds: 123.4567 });
    const notifier = await buildNotifier(uptimeKumaNotification, { id: 'kuma-nightly', push_url: `${receiver.url}/api/push/${TOKEN}` });
    await deliver(notifier, eventsOf(run));
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('GET');
    expect(req.pathname).toBe(`/api/push/${TOKEN}`);
    expect(req.query.getAll('status')).toEqual(['up']);
    expect(req.query.get('ping')).toBe('123457');
    expect(pushes).toEqual([{ status: 'up', msg: 'OK: 2 sources, 4.0 MiB in 2m 03s', ping: 123457 }]);
  });

  it('replaces the defaults of a push URL copied from Kuma (?status=up&msg=OK&ping=)', async () => {
    const notifier = await buildNotifier(uptimeKumaNotification, { id: 'kuma', push_url: `${receiver.url}/api/push/${TOKEN}?status=up&msg=OK&ping=` });
    await deliver(notifier, eventsOf(makeRunReport({ status: 'failure' })));
    const query = receiver.requests[0]!.query;
    expect(query.getAll('status')).toEqual(['down']);
    expect(query.getAll('msg')).toHaveLength(1);
    expect(query.getAll('ping')).toEqual(['60000']);
    expect(pushes[0]!.msg).toBe('FAILED: db: mysqldump exited 2: Lost connection to MySQL server during query');
  });

  it('builds the push URL from url and token', async () => {
    const notifier = await buildNotifier(uptimeKumaNotification, { id: 'kuma', url: `${receiver.url}/`, token: TOKEN });
    await deliver(notifier, eventsOf(makeRunReport({ status: 'warning' })));
    expect(receiver.requests[0]!.pathname).toBe(`/api/push/${TOKEN}`);
    expect(pushes).toEqual([{ status: 'up', msg: 'OK: 1 source, 2.0 MiB in 1m 00s, 1 warning', ping: 60000 }]);
  });

  it('on_failure: "skip" pushes only on success and lets the heartbeat window expire', async () => {
    const notifier = await buildNotifier(uptimeKumaNotification, { id: 'kuma', push_url: `${receiver.url}/api/push/${TOKEN}`, on_failure: 'skip' });
    await deliver(notifier, eventsOf(makeRunReport({ status: 'failure' })));
    expect(receiver.requests).toHaveLength(0);
    await deliver(notifier, eventsOf(makeRunReport()));
    expect(pushes.map((p) => p.status)).toEqual(['up']);
  });

  it('follows notify_on_failure: 0', async () => {
    const quiet = await buildNotifier(uptimeKumaNotification, { id: 'kuma', push_url: `${receiver.url}/api/push/${TOKEN}`, notify_on_failure: 0 });
    await deliver(quiet, eventsOf(makeRunReport({ status: 'failure' })));
    expect(receiver.requests).toHaveLength(0);
  });

  it('keeps msg short and on one line', () => {
    const error = `pg_dump exited 1:\n${'connection reset '.repeat(40)}`;
    const msg = pushMessage(makeRunReport({ status: 'failure', sources: [makeSourceReport({ status: 'failure', error })] }));
    expect(msg.length).toBeLessThanOrEqual(MAX_MSG);
    expect(msg).not.toContain('\n');
    expect(msg.startsWith('FAILED: db: pg_dump exited 1: connection reset')).toBe(true);
  });

  it('sends a ping within 0..1e11 even for odd durations', () => {
    expect(runMilliseconds(makeRunReport({ durationSeconds: -5 }))).toBe(0);
    expect(runMilliseconds(makeRunReport({ durationSeconds: 1e12 }))).toBe(1e11);
    const running = makeRunReport({ durationSeconds: undefined, finishedAt: undefined, startedAt: '2026-03-14T02:00:00.000Z' });
    expect(runMilliseconds(running, Date.parse('2026-03-14T02:00:07.500Z'))).toBe(7500);
  });

  it('names the monitor, not the token, when Kuma answers 404 "Monitor not found or not active."', async () => {
    const notifier = await buildNotifier(uptimeKumaNotification, { id: 'kuma-nightly', push_url: `${receiver.url}/api/push/PausedOrWrongTok` });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport() }, { signal: AbortSignal.timeout(5000) }));
    expect(receiver.requests).toHaveLength(1);
    expect(error).toBeInstanceOf(HttpStatusError);
    expect(error.message).toContain('notification "kuma-nightly"');
    expect(error.message).toContain('Monitor not found or not active.');
    expect(error.message).toContain(receiver.url);
    expect(error.message).not.toContain('PausedOrWrongTok');
    expect(isPermanentHttpError(error)).toBe(true);
  });

  it('rejects on HTTP 500 with the status and without the token', async () => {
    receiver.respond(() => ({ status: 500, body: `Internal error for /api/push/${TOKEN}` }));
    const notifier = await buildNotifier(uptimeKumaNotification, { id: 'kuma', push_url: `${receiver.url}/api/push/${TOKEN}` });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport() }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toMatch(/HTTP 500/);
    expect(isPermanentHttpError(error)).toBe(false);
  });

  it('needs push_url, or url and token', () => {
    const schema = uptimeKumaNotification;
    const problems = (raw: Record<string, unknown>) => schema.problems!(schema.options.parse(raw) as never);
    expect(problems({})).toEqual([{ key: 'push_url', message: 'required (or url and token)' }]);
    expect(problems({ url: 'https://kuma.example.org' })).toHaveLength(1);
    expect(problems({ push_url: 'https://kuma.example.org/api/push/x', token: 'x' })).toHaveLength(1);
    expect(problems({ url: 'https://kuma.example.org', token: 'x' })).toEqual([]);
  });
});
