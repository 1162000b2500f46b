import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isPermanentHttpError } from '../../src/lib/http.js';
import { slackNotification } from '../../src/notifications/slack/index.js';
import { startReceiver, type Receiver, type RecordedRequest, type ReceiverResponse } from '../support/http-receiver.js';
import { buildNotifier, deliver, rejectionOf } from '../support/notifier-harness.js';
import { eventsOf, makeRunReport, makeSourceReport } from '../support/reports.js';

const HOOK = '/services/T0001/B0002/SlackHookSecret123';

/** An incoming webhook as Slack documents it: POST JSON with `text`, answers 200 "ok" or 4xx with an error word. */
function slackWebhook(req: RecordedRequest): ReceiverResponse {
  if (req.method !== 'POST') return { status: 405, body: 'invalid_method' };
  if (req.pathname !== HOOK) return { status: 404, body: 'no_service' };
  if (!String(req.headers['content-type']).startsWith('application/json')) return { status: 400, body: 'invalid_payload' };
  let payload: { text?: unknown };
  try {
    payload = req.json();
  } catch {
    return { status: 400, body: 'invalid_payload' };
  }
  if (typeof payload.text !== 'string' || payload.text === '') return { status: 400, body: 'no_text' };
  return { status: 200, body: 'ok' };
}

describe('slack notification', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver(slackWebhook);
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.clear();
    receiver.respond(slackWebhook);
  });

  it('posts one run summary on failure by default, with the error and log tail, escaped for mrkdwn', async () => {
    const run = makeRunReport({
      status: 'failure',
      sources: [
        makeSourceReport({ id: 'etc', type: 'folder' }),
        makeSourceReport({ id: 'db', status: 'failure', error: 'mysqldump exited 2: <Lost connection> & gone' }),
      ],
      logTail: ['INFO dumping db', 'ERROR mysqldump exited 2: <Lost connection> & gone'],
    });
    const notifier = await buildNotifier(slackNotification, { id: 'team', url: `${receiver.url}${HOOK}` });
    await deliver(notifier, eventsOf(run));

    expect(receiver.requests).toHaveLength(1);
    const [req] = receiver.requests;
    expect(req!.method).toBe('POST');
    expect(req!.pathname).toBe(HOOK);
    expect(req!.headers['content-type']).toMatch(/^application\/json/);
    const { text } = req!.json<{ text: string }>();
    expect(text).toContain('*Backup FAILED: db1.example.org nightly (2 sources)*');
    expect(text).toContain('db (mysql): FAILED');
    expect(text).toContain('etc (folder): OK');
    expect(text).toContain('ERROR mysqldump exited 2: &lt;Lost connection&gt; &amp; gone');
    expect(text).not.toContain('<Lost');
  });

  it('sends nothing for a successful run unless notify_on_success is set', async () => {
    const quiet = await buildNotifier(slackNotification, { id: 'team', url: `${receiver.url}${HOOK}`, notify_on_success: 0, notify_on_failure: 1 });
    await deliver(quiet, eventsOf(makeRunReport()));
    expect(receiver.requests).toHaveLength(0);

    const chatty = await buildNotifier(slackNotification, { id: 'team', url: `${receiver.url}${HOOK}`, notify_on_success: 1 });
    await deliver(chatty, eventsOf(makeRunReport()));
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]!.json<{ text: string }>().text).toContain('Backup OK: db1.example.org nightly (1 source)');
  });

  it('per_source: 1 sends one message per failed source, as the original did, and no summary', async () => {
    const run = makeRunReport({
      sources: [makeSourceReport({ id: 'a', status: 'failure' }), makeSourceReport({ id: 'b' }), makeSourceReport({ id: 'c', status: 'failure' })],
    });
    const notifier = await buildNotifier(slackNotification, { id: 'team', url: `${receiver.url}${HOOK}`, per_source: 1 });
    await deliver(notifier, eventsOf(run));
    const texts = receiver.requests.map((r) => r.json<{ text: string }>().text);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toContain('Backup FAILED: db1.example.org nightly / a');
    expect(texts[1]).toContain('Backup FAILED: db1.example.org nightly / c');
  });

  it('tells a run that could not start once, in both modes', async () => {
    // What the CLI sends when the job file or the lock fails: a failure without a source, then the summary.
    const setup = makeRunReport({ status: 'failure', sources: [], error: 'another run of this job holds the lock', logTail: [] });
    const events = [{ kind: 'failure' as const, source: undefined, run: setup }, { kind: 'run' as const, run: setup }];
    await deliver(await buildNotifier(slackNotification, { id: 'team', url: `${receiver.url}${HOOK}` }), events);
    await deliver(await buildNotifier(slackNotification, { id: 'team', url: `${receiver.url}${HOOK}`, per_source: 1 }), events);
    const texts = receiver.requests.map((r) => r.json<{ text: string }>().text);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toContain('Backup FAILED: db1.example.org nightly (0 sources)');
    expect(texts[1]).toContain('*Backup FAILED: db1.example.org nightly*');
    for (const text of texts) expect(text).toContain('Error: another run of this job holds the lock');
  });

  it('keeps long messages under 4,000 characters with the last log line', async () => {
    const logTail = Array.from({ length: 40 }, (_, i) => `line ${i} ${'x'.repeat(1000)}`);
    const run = makeRunReport({ status: 'failure', logTail: [...logTail, 'FINAL LINE'] });
    const notifier = await buildNotifier(slackNotification, { id: 'team', url: `${receiver.url}${HOOK}` });
    await deliver(notifier, [{ kind: 'run', run }]);
    const { text } = receiver.requests[0]!.json<{ text: string }>();
    expect(text.length).toBeLessThanOrEqual(4000);
    expect(text).toContain('Backup FAILED');
    expect(text).toContain('[…]');
    expect(text).toContain('FINAL LINE');
  });

  it('rejects on HTTP 500 with the status, without the webhook path', async () => {
    receiver.respond(() => ({ status: 500, body: 'rollup_error' }));
    const notifier = await buildNotifier(slackNotification, { id: 'team', url: `${receiver.url}${HOOK}` });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport({ status: 'failure' }) }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toMatch(/HTTP 500/);
    expect(error.message).toContain(receiver.url);
    expect(error.message).not.toContain('SlackHookSecret123');
    expect(error.message).not.toContain('/services');
    expect(isPermanentHttpError(error)).toBe(false);
  });

  it('reports a revoked webhook (404) as permanent, with what to do', async () => {
    const notifier = await buildNotifier(slackNotification, { id: 'team', url: `${receiver.url}/services/T0001/B0002/RevokedTok987` });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport({ status: 'failure' }) }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toMatch(/HTTP 404.*no_service.*create a new incoming webhook/);
    expect(error.message).not.toContain('RevokedTok987');
    expect(isPermanentHttpError(error)).toBe(true);
  });

  it('rejects a job file without url, and declares url a secret', () => {
    expect(slackNotification.options.safeParse({}).success).toBe(false);
    expect(slackNotification.secrets).toContain('url');
  });
});
