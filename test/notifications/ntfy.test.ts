import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isPermanentHttpError } from '../../src/lib/http.js';
import { headerText } from '../../src/notifications/ntfy/create.js';
import { ntfyNotification } from '../../src/notifications/ntfy/index.js';
import { startReceiver, type Receiver, type RecordedRequest, type ReceiverResponse } from '../support/http-receiver.js';
import { buildNotifier, deliver, rejectionOf } from '../support/notifier-harness.js';
import { eventsOf, makeRunReport, makeSourceReport } from '../support/reports.js';

const TOPIC = 'backups-7f3a9c';
const ACCESS_TOKEN = 'tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2';

interface Published {
  topic: string;
  title?: string;
  message: string;
  priority: number;
  tags: string[];
  attachment: boolean;
}

const PRIORITIES: Record<string, number> = { min: 1, low: 2, default: 3, high: 4, max: 5, urgent: 5 };

/** RFC 2047 encoded words (=?UTF-8?B?...?= / =?UTF-8?Q?...?=), as ntfy decodes them in headers. */
function decodeHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_m, enc: string, text: string) =>
    enc.toLowerCase() === 'b' ? Buffer.from(text, 'base64').toString('utf8') : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
  );
}

/**
 * Publishing as ntfy documents it: PUT/POST /<topic>, the body is the message; Title, Priority
 * (1-5 or min/low/default/high/max/urgent) and Tags (comma separated) headers, with X- and
 * short aliases; Bearer or Basic auth on protected topics; a body over 4096 bytes becomes an attachment.
 */
function ntfy(published: Published[], auth?: string) {
  return (req: RecordedRequest): ReceiverResponse => {
    const header = (...names: string[]) => names.map((n) => req.headers[n]).find((v): v is string => typeof v === 'string');
    if (!['POST', 'PUT'].includes(req.method)) return { status: 405, json: { code: 40500, http: 405, error: 'method not allowed' } };
    const topic = req.pathname.slice(1);
    if (!/^[-_A-Za-z0-9]{1,64}$/.test(topic)) return { status: 404, json: { code: 40401, http: 404, error: 'page not found' } };
    if (auth && req.headers.authorization !== auth) {
      return req.headers.authorization ? { status: 403, json: { code: 40301, http: 403, error: 'forbidden' } } : { status: 401, json: { code: 40101, http: 401, error: 'unauthorized' } };
    }
    const p = header('x-priority', 'priority', 'prio', 'p') ?? '3';
    const priority = /^[1-5]$/.test(p) ? Number(p) : PRIORITIES[p.toLowerCase()];
    if (priority === undefined) return { status: 400, json: { code: 40007, http: 400, error: 'invalid priority' } };
    const title = decodeHeader(header('x-title', 'title', 't'));
    const tags = (header('x-tags', 'tags', 'tag', 'ta') ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    const attachment = req.body.length > 4096;
    published.push({ topic, title, message: attachment ? 'You received a file: attachment.txt' : req.text, priority, tags, attachment });
    return { json: { id: 'sPs71M8A2T', time: 1773453600, event: 'message', topic, title, message: req.text.slice(0, 100), priority, tags } };
  };
}

describe('ntfy notification', () => {
  let receiver: Receiver;
  let published: Published[];
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.clear();
    published = [];
    receiver.respond(ntfy(published, `Bearer ${ACCESS_TOKEN}`));
  });

  it('publishes a failed run with high priority, alert tag and Bearer token', async () => {
    const notifier = await buildNotifier(ntfyNotification, { id: 'phone', url: `${receiver.url}/${TOPIC}`, token: ACCESS_TOKEN });
    await deliver(notifier, eventsOf(makeRunReport({ status: 'failure' })));
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(published).toHaveLength(1);
    const msg = published[0]!;
    expect(msg.topic).toBe(TOPIC);
    expect(msg.title).toBe('Backup FAILED: db1.example.org nightly (1 source)');
    expect(msg.priority).toBe(4);
    expect(msg.tags).toEqual(['rotating_light', 'backup']);
    expect(msg.message).toContain('Lost connection to MySQL server during query');
    expect(msg.attachment).toBe(false);
  });

  it('uses base + topic, Basic auth, and the success priority when successes are wanted', async () => {
    receiver.respond(ntfy(published, `Basic ${Buffer.from('backup:s3cret pass').toString('base64')}`));
    const notifier = await buildNotifier(ntfyNotification, {
      id: 'phone',
      base: `${receiver.url}/`,
      topic: TOPIC,
      username: 'backup',
      password: 's3cret pass',
      notify_on_success: 1,
      priority_success: 'low',
    });
    await deliver(notifier, eventsOf(makeRunReport()));
    expect(published).toEqual([
      expect.objectContaining({ topic: TOPIC, title: 'Backup OK: db1.example.org nightly (1 source)', priority: 2, tags: ['white_check_mark', 'backup'] }),
    ]);
  });

  it('encodes a non-ASCII title (RFC 2047) so ntfy shows it intact', async () => {
    receiver.respond(ntfy(published));
    const notifier = await buildNotifier(ntfyNotification, { id: 'phone', url: `${receiver.url}/${TOPIC}` });
    const run = makeRunReport({ status: 'failure', hostname: 'sérveur-münchen' });
    await notifier.notify({ kind: 'run', run }, { signal: AbortSignal.timeout(5000) });
    expect(receiver.requests[0]!.headers.title).toMatch(/^=\?UTF-8\?B\?/);
    expect(published[0]!.title).toBe('Backup FAILED: sérveur-münchen nightly (1 source)');
    expect(headerText('plain ascii')).toBe('plain ascii');
  });

  it('keeps the body under 4096 bytes so it is not turned into an attachment', async () => {
    receiver.respond(ntfy(published));
    const logTail = [...Array.from({ length: 30 }, (_, i) => `läuft ${i} ${'ü'.repeat(300)}`), 'LETZTE ZEILE'];
    const notifier = await buildNotifier(ntfyNotification, { id: 'phone', url: `${receiver.url}/${TOPIC}`, per_source: 1 });
    const run = makeRunReport({ status: 'failure', sources: [makeSourceReport({ status: 'failure' })], logTail });
    await deliver(notifier, eventsOf(run));
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]!.body.length).toBeLessThanOrEqual(4096);
    expect(published[0]!.attachment).toBe(false);
    expect(published[0]!.message).toContain('LETZTE ZEILE');
    expect(published[0]!.title).toBe('Backup FAILED: db1.example.org nightly / db');
  });

  it('rejects a missing token (401) with a hint, and HTTP 500 with the status, never the topic or token', async () => {
    const anonymous = await buildNotifier(ntfyNotification, { id: 'phone', url: `${receiver.url}/${TOPIC}` });
    const unauthorized = await rejectionOf(anonymous.notify({ kind: 'run', run: makeRunReport({ status: 'failure' }) }, { signal: AbortSignal.timeout(5000) }));
    expect(unauthorized.message).toMatch(/HTTP 401.*set token, or username and password/);
    expect(isPermanentHttpError(unauthorized)).toBe(true);

    receiver.respond(() => ({ status: 500, json: { code: 50001, http: 500, error: 'internal server error' } }));
    const notifier = await buildNotifier(ntfyNotification, { id: 'phone', url: `${receiver.url}/${TOPIC}`, token: ACCESS_TOKEN });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport({ status: 'failure' }) }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toMatch(/HTTP 500/);
    expect(error.message).not.toContain(TOPIC);
    expect(error.message).not.toContain(ACCESS_TOKEN);
  });

  it('checks its keys: url or topic, token or username+password', () => {
    const problems = (raw: Record<string, unknown>) => ntfyNotification.problems!(ntfyNotification.options.parse(raw) as never).map((p) => p.key);
    expect(problems({})).toEqual(['url']);
    expect(problems({ topic: TOPIC })).toEqual([]);
    expect(problems({ topic: TOPIC, token: 'tk_x', username: 'u', password: 'p' })).toEqual(['token']);
    expect(problems({ topic: TOPIC, username: 'u' })).toEqual(['password']);
    expect(ntfyNotification.options.safeParse({ topic: TOPIC, priority_failure: 9 }).success).toBe(false);
  });
});
