import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpStatusError, isPermanentHttpError } from '../../src/lib/http.js';
import { sleep } from '../../src/lib/retry.js';
import { discordNotification } from '../../src/notifications/discord/index.js';
import { startReceiver, type Receiver, type RecordedRequest, type ReceiverResponse } from '../support/http-receiver.js';
import { buildNotifier, deliver, rejectionOf } from '../support/notifier-harness.js';
import { eventsOf, makeRunReport, makeSourceReport } from '../support/reports.js';

const HOOK = '/api/webhooks/112233445566778899/DiscordHookToken_abc';

// The channel's wait for a short 429 goes through this sleep, so a test sees it without waiting.
vi.mock(import('../../src/lib/retry.js'), async (importOriginal) => {
  const real = await importOriginal();
  return { ...real, sleep: vi.fn(real.sleep) };
});

/**
 * Execute Webhook as Discord documents it: POST JSON; `content` (max 2000 characters) or
 * `embeds` required; 204 No Content without ?wait=true; 429 with `retry_after` seconds.
 */
function discordWebhook(req: RecordedRequest): ReceiverResponse {
  if (req.method !== 'POST') return { status: 405, json: { message: '405: Method Not Allowed', code: 0 } };
  if (req.pathname !== HOOK) return { status: 404, json: { message: 'Unknown Webhook', code: 10015 } };
  if (!String(req.headers['content-type']).startsWith('application/json')) return { status: 400, json: { message: 'Cannot send an empty message', code: 50006 } };
  const payload = req.json<{ content?: unknown; embeds?: unknown }>();
  if ((typeof payload.content !== 'string' || payload.content === '') && !Array.isArray(payload.embeds)) {
    return { status: 400, json: { message: 'Cannot send an empty message', code: 50006 } };
  }
  if (typeof payload.content === 'string' && payload.content.length > 2000) {
    return { status: 400, json: { message: 'Invalid Form Body', code: 50035, errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } } };
  }
  return { status: 204 };
}

const failedRun = () =>
  makeRunReport({
    status: 'failure',
    sources: [makeSourceReport({ id: 'db', status: 'failure', error: 'pg_dump exited 1: @everyone connection refused' })],
    logTail: ['ERROR pg_dump exited 1: @everyone connection refused'],
  });

describe('discord notification', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver(discordWebhook);
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.clear();
    receiver.respond(discordWebhook);
  });

  it('executes the webhook once per failed run with content, no mentions allowed', async () => {
    const notifier = await buildNotifier(discordNotification, { id: 'ops', url: `${receiver.url}${HOOK}`, username: 'backup-runner' });
    await deliver(notifier, eventsOf(failedRun()));
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.pathname).toBe(HOOK);
    const payload = req.json<{ content: string; allowed_mentions: { parse: string[] }; username: string }>();
    expect(payload.content).toContain('**Backup FAILED: db1.example.org nightly (1 source)**');
    expect(payload.content).toContain('pg_dump exited 1');
    expect(payload.allowed_mentions).toEqual({ parse: [] });
    expect(payload.username).toBe('backup-runner');
  });

  it('keeps content within 2000 characters, with the end of the log', async () => {
    const logTail = [...Array.from({ length: 20 }, (_, i) => `line ${i} ${'y'.repeat(500)}`), 'LAST LOG LINE'];
    const notifier = await buildNotifier(discordNotification, { id: 'ops', url: `${receiver.url}${HOOK}` });
    await notifier.notify({ kind: 'run', run: makeRunReport({ status: 'failure', logTail }) }, { signal: AbortSignal.timeout(5000) });
    expect(receiver.requests).toHaveLength(1);
    const { content } = receiver.requests[0]!.json<{ content: string }>();
    expect(content.length).toBeLessThanOrEqual(2000);
    expect(content).toContain('LAST LOG LINE');
    expect(content.endsWith('```')).toBe(true);
  });

  it('waits out a short 429 and sends again', async () => {
    let calls = 0;
    receiver.respond((req) => {
      calls++;
      if (calls === 1) return { status: 429, headers: { 'retry-after': '1' }, json: { message: 'You are being rate limited.', retry_after: 0.2, global: false } };
      return discordWebhook(req);
    });
    const notifier = await buildNotifier(discordNotification, { id: 'ops', url: `${receiver.url}${HOOK}` });
    // The retry_after of the body (0.2 s), waited between the first answer and the second post.
    const waits: { ms: number; posted: number }[] = [];
    vi.mocked(sleep).mockImplementationOnce(async (ms) => void waits.push({ ms, posted: receiver.requests.length }));
    await notifier.notify({ kind: 'run', run: failedRun() }, { signal: AbortSignal.timeout(5000) });
    expect(waits).toEqual([{ ms: 200, posted: 1 }]);
    expect(receiver.requests).toHaveLength(2);
  });

  it('leaves a long 429 to the dispatcher as a retryable error', async () => {
    receiver.respond(() => ({ status: 429, json: { message: 'You are being rate limited.', retry_after: 64.5, global: true } }));
    const notifier = await buildNotifier(discordNotification, { id: 'ops', url: `${receiver.url}${HOOK}` });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: failedRun() }, { signal: AbortSignal.timeout(5000) }));
    expect(error).toBeInstanceOf(HttpStatusError);
    expect((error as HttpStatusError).status).toBe(429);
    expect(error.message).toMatch(/rate limited, retry after 64\.5 s/);
    expect(isPermanentHttpError(error)).toBe(false);
    expect(receiver.requests).toHaveLength(1);
  });

  it('rejects on HTTP 500 with the status and without the webhook token', async () => {
    receiver.respond(() => ({ status: 500, json: { message: '500: Internal Server Error', code: 0 } }));
    const notifier = await buildNotifier(discordNotification, { id: 'ops', url: `${receiver.url}${HOOK}` });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: failedRun() }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toMatch(/HTTP 500/);
    expect(error.message).not.toContain('DiscordHookToken_abc');
    expect(error.message).not.toContain('/api/webhooks');
  });

  it('reports a deleted webhook (404 Unknown Webhook) as permanent', async () => {
    const notifier = await buildNotifier(discordNotification, { id: 'ops', url: `${receiver.url}/api/webhooks/1/GoneToken` });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: failedRun() }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toMatch(/HTTP 404.*Unknown Webhook.*create a new webhook/);
    expect(error.message).not.toContain('GoneToken');
    expect(isPermanentHttpError(error)).toBe(true);
  });
});
