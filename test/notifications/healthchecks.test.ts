import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runUuid } from '../../src/notifications/healthchecks/create.js';
import { healthchecksNotification } from '../../src/notifications/healthchecks/index.js';
import { HttpStatusError, isPermanentHttpError } from '../../src/lib/http.js';
import { startReceiver, type Receiver, type RecordedRequest, type ReceiverResponse } from '../support/http-receiver.js';
import { buildNotifier, deliver, rejectionOf } from '../support/notifier-harness.js';
import { eventsOf, makeRunReport, makeSourceReport } from '../support/reports.js';

const CHECK_UUID = '5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278';
const PING_KEY = 'fqOOd6-F4MMNuCEnzTU01w';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Ping {
  check: string;
  kind: string;
  rid: string | null;
  body: string;
}

/**
 * The Healthchecks pinging API as documented (self-hosted, ping endpoint under /ping/):
 * HEAD|GET|POST {endpoint}<uuid>[/start|/fail|/log|/<0-255>] and <ping-key>/<slug>[...] with
 * ?create=1 (201 when it creates the check) and ?rid=<uuid>; 200 "OK"; 404 "not found";
 * bodies kept up to the Ping-Body-Limit.
 */
function healthchecks(pings: Ping[], slugs: Set<string>) {
  return (req: RecordedRequest): ReceiverResponse => {
    if (!['HEAD', 'GET', 'POST'].includes(req.method)) return { status: 405 };
    const rid = req.query.get('rid');
    if (rid !== null && !UUID.test(rid)) return { status: 400, body: 'invalid uuid format' };
    const parts = req.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'ping') return { status: 404, body: 'not found' };
    let check: string;
    let rest: string[];
    let status = 200;
    if (parts[1] && UUID.test(parts[1])) {
      if (parts[1] !== CHECK_UUID) return { status: 404, body: 'not found' };
      check = parts[1];
      rest = parts.slice(2);
    } else {
      if (parts[1] !== PING_KEY || !parts[2]) return { status: 404, body: 'not found' };
      check = `${parts[1]}/${parts[2]}`;
      if (!slugs.has(parts[2])) {
        if (req.query.get('create') !== '1') return { status: 404, body: 'not found' };
        slugs.add(parts[2]);
        status = 201;
      }
      rest = parts.slice(3);
    }
    const kind = rest.length === 0 ? 'success' : rest.length === 1 && ['start', 'fail', 'log'].includes(rest[0]!) ? rest[0]! : /^\d+$/.test(rest[0] ?? '') && Number(rest[0]) <= 255 ? `exit-${rest[0]}` : '';
    if (!kind) return { status: 400, body: 'invalid url format' };
    pings.push({ check, kind, rid, body: req.text.slice(0, 10_000) });
    return { status, headers: { 'ping-body-limit': '10000' }, body: status === 201 ? 'Created' : 'OK' };
  };
}

describe('healthchecks notification', () => {
  let receiver: Receiver;
  let pings: Ping[];
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.clear();
    pings = [];
    receiver.respond(healthchecks(pings, new Set(['nightly-backup'])));
  });

  it('sends /start once per run, then success, both with the same rid', async () => {
    const run = makeRunReport({ sources: [makeSourceReport({ id: 'etc' }), makeSourceReport({ id: 'db' })] });
    const notifier = await buildNotifier(healthchecksNotification, { id: 'hc', url: `${receiver.url}/ping/${CHECK_UUID}` });
    await deliver(notifier, eventsOf(run));
    expect(pings.map((p) => p.kind)).toEqual(['start', 'success']);
    expect(receiver.requests.map((r) => r.method)).toEqual(['POST', 'POST']);
    expect(receiver.requests.map((r) => r.pathname)).toEqual([`/ping/${CHECK_UUID}/start`, `/ping/${CHECK_UUID}`]);
    const rid = pings[0]!.rid;
    expect(rid).toMatch(UUID);
    expect(pings[1]!.rid).toBe(rid);
    expect(pings[1]!.body).toContain('Backup OK: db1.example.org nightly (2 sources)');
    expect(pings[1]!.body).toContain('- etc (mysql): OK');
  });

  it('sends /fail with the log tail, cut from the front to max_log_bytes', async () => {
    const logTail = [...Array.from({ length: 400 }, (_, i) => `INFO line ${i} ${'w'.repeat(60)}`), 'ERROR mysqldump exited 2 (the last line)'];
    const run = makeRunReport({ status: 'failure', logTail });
    const notifier = await buildNotifier(healthchecksNotification, { id: 'hc', url: `${receiver.url}/ping/${CHECK_UUID}/` });
    await deliver(notifier, eventsOf(run));
    expect(pings.map((p) => p.kind)).toEqual(['start', 'fail']);
    const body = receiver.requests[1]!.body;
    expect(body.length).toBeLessThanOrEqual(10_000);
    expect(body.length).toBeGreaterThan(9_000);
    expect(body.toString().trimEnd().endsWith('ERROR mysqldump exited 2 (the last line)')).toBe(true);
    expect(receiver.requests[1]!.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('uses ping_key + slug and ?create=1 to provision the check', async () => {
    const notifier = await buildNotifier(healthchecksNotification, {
      id: 'hc',
      ping_key: PING_KEY,
      slug: 'new-host-backup',
      base: `${receiver.url}/ping`,
      create: 1,
      max_log_bytes: 500,
    });
    await deliver(notifier, eventsOf(makeRunReport()));
    expect(receiver.requests.map((r) => r.pathname)).toEqual([`/ping/${PING_KEY}/new-host-backup/start`, `/ping/${PING_KEY}/new-host-backup`]);
    expect(receiver.requests.every((r) => r.query.get('create') === '1')).toBe(true);
    expect(receiver.requests.every((r) => r.body.length <= 500)).toBe(true);
    expect(pings.map((p) => `${p.check} ${p.kind}`)).toEqual([`${PING_KEY}/new-host-backup start`, `${PING_KEY}/new-host-backup success`]);
  });

  it('follows notify_on_start: 0, and sends one /fail for a run that could not start', async () => {
    const notifier = await buildNotifier(healthchecksNotification, { id: 'hc', ping_key: PING_KEY, slug: 'nightly-backup', base: `${receiver.url}/ping`, notify_on_start: 0 });
    await deliver(notifier, eventsOf(makeRunReport()));
    // What the CLI sends when the job file or the lock fails: a failure without a source, then the summary.
    const setup = makeRunReport({ status: 'failure', sources: [], error: 'job file: sources[0].path: required' });
    await deliver(notifier, [{ kind: 'failure', source: undefined, run: setup }, { kind: 'run', run: setup }]);
    expect(pings.map((p) => p.kind)).toEqual(['success', 'fail']);
    expect(pings[1]!.body).toContain('job file: sources[0].path: required');
  });

  it('names the notification, not the UUID, when the check does not exist (404, and hosted "OK (not found)")', async () => {
    const missing = '00000000-1111-4222-8333-444444444444';
    const notifier = await buildNotifier(healthchecksNotification, { id: 'hc-nightly', url: `${receiver.url}/ping/${missing}` });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport() }, { signal: AbortSignal.timeout(5000) }));
    expect(error).toBeInstanceOf(HttpStatusError);
    expect(error.message).toContain('notification "hc-nightly"');
    expect(error.message).not.toContain(missing);
    expect(isPermanentHttpError(error)).toBe(true);

    receiver.respond(() => ({ status: 200, body: 'OK (not found)' }));
    const hosted = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport() }, { signal: AbortSignal.timeout(5000) }));
    expect(hosted.message).toContain('no check for notification "hc-nightly"');
  });

  it('rejects on HTTP 500 with the status and without the UUID', async () => {
    receiver.respond(() => ({ status: 500, body: 'Server Error' }));
    const notifier = await buildNotifier(healthchecksNotification, { id: 'hc', url: `${receiver.url}/ping/${CHECK_UUID}` });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport() }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toMatch(/HTTP 500/);
    expect(error.message).not.toContain(CHECK_UUID);
  });

  it('retries /start on the next source when the first attempt failed', async () => {
    receiver.respond(() => ({ status: 503, body: 'busy' }));
    const notifier = await buildNotifier(healthchecksNotification, { id: 'hc', url: `${receiver.url}/ping/${CHECK_UUID}` });
    const run = makeRunReport({ sources: [makeSourceReport({ id: 'a' }), makeSourceReport({ id: 'b' })] });
    const [startA, , startB] = eventsOf(run);
    await rejectionOf(notifier.notify(startA!, { signal: AbortSignal.timeout(5000) }));
    receiver.respond(healthchecks(pings, new Set()));
    await notifier.notify(startB!, { signal: AbortSignal.timeout(5000) });
    await notifier.notify(startB!, { signal: AbortSignal.timeout(5000) });
    expect(pings.map((p) => p.kind)).toEqual(['start']);
  });

  it('maps any run id to a stable canonical UUID for rid', () => {
    expect(runUuid('3F2504E0-4F89-41D3-9A0C-0305E82C3301')).toBe('3f2504e0-4f89-41d3-9a0c-0305e82c3301');
    const fromUlid = runUuid('01HZXK3T5Q8C7W9N2M4B6V8D0F');
    expect(fromUlid).toMatch(UUID);
    expect(runUuid('01HZXK3T5Q8C7W9N2M4B6V8D0F')).toBe(fromUlid);
    expect(runUuid('01HZXK3T5Q8C7W9N2M4B6V8D0G')).not.toBe(fromUlid);
  });
});
