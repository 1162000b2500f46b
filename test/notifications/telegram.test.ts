import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isPermanentHttpError } from '../../src/lib/http.js';
import { telegramNotification } from '../../src/notifications/telegram/index.js';
import { startReceiver, type Receiver, type RecordedRequest, type ReceiverResponse } from '../support/http-receiver.js';
import { buildNotifier, deliver, rejectionOf } from '../support/notifier-harness.js';
import { eventsOf, makeRunReport, makeSourceReport } from '../support/reports.js';

const TOKEN = '295432120:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const CHAT = '-1001234567890';

/**
 * The Bot API's sendMessage as documented: POST https://api.telegram.org/bot<token>/sendMessage,
 * JSON with chat_id and text (1-4096 characters); answers {"ok":true,"result":Message} or
 * {"ok":false,"error_code":N,"description":"..."} with the same HTTP status.
 */
function botApi(req: RecordedRequest): ReceiverResponse {
  const fail = (code: number, description: string): ReceiverResponse => ({ status: code, json: { ok: false, error_code: code, description } });
  const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.pathname);
  if (!match) return fail(404, 'Not Found');
  if (decodeURIComponent(match[1]!) !== TOKEN) return fail(401, 'Unauthorized');
  if (match[2] !== 'sendMessage' || req.method !== 'POST') return fail(404, 'Not Found: method not found');
  if (!String(req.headers['content-type']).startsWith('application/json')) return fail(400, 'Bad Request: message text is empty');
  const body = req.json<{ chat_id?: unknown; text?: unknown }>();
  if (body.chat_id === undefined) return fail(400, 'Bad Request: chat_id is empty');
  if (String(body.chat_id) !== CHAT) return fail(400, 'Bad Request: chat not found');
  if (typeof body.text !== 'string' || body.text.length === 0) return fail(400, 'Bad Request: message text is empty');
  if (body.text.length > 4096) return fail(400, 'Bad Request: message is too long');
  return { json: { ok: true, result: { message_id: 42, chat: { id: Number(CHAT), type: 'supergroup' }, date: 1773453600, text: body.text } } };
}

describe('telegram notification', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver(botApi);
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.clear();
    receiver.respond(botApi);
  });

  it('POSTs sendMessage with chat_id and plain text once per failed run', async () => {
    const notifier = await buildNotifier(telegramNotification, { id: 'tg', api_token: TOKEN, chat_id: Number(CHAT), api_base: receiver.url });
    const run = makeRunReport({ status: 'failure', sources: [makeSourceReport({ id: 'db', status: 'failure', error: 'mysqldump exited 2: *_[bad markup' })] });
    await deliver(notifier, eventsOf(run));
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.pathname).toBe(`/bot${TOKEN}/sendMessage`);
    const body = req.json<{ chat_id: string; text: string; parse_mode?: string }>();
    expect(body.chat_id).toBe(CHAT);
    expect(body.text.startsWith('Backup FAILED: db1.example.org nightly (1 source)\n\n')).toBe(true);
    expect(body.text).toContain('mysqldump exited 2: *_[bad markup');
    expect(body.parse_mode).toBeUndefined();
  });

  it('cuts the text to 4096 characters, keeping the last log line', async () => {
    const logTail = [...Array.from({ length: 20 }, (_, i) => `line ${i} ${'z'.repeat(700)}`), 'THE LAST LINE'];
    const notifier = await buildNotifier(telegramNotification, { id: 'tg', api_token: TOKEN, chat_id: CHAT, api_base: receiver.url });
    await notifier.notify({ kind: 'run', run: makeRunReport({ status: 'failure', logTail }) }, { signal: AbortSignal.timeout(5000) });
    const { text } = receiver.requests[0]!.json<{ text: string }>();
    expect(text.length).toBeLessThanOrEqual(4096);
    expect(text).toContain('THE LAST LINE');
    expect(receiver.requests).toHaveLength(1);
  });

  it('rejects "chat not found" with a hint and no token', async () => {
    const notifier = await buildNotifier(telegramNotification, { id: 'tg', api_token: TOKEN, chat_id: '12345', api_base: receiver.url });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport({ status: 'failure' }) }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toMatch(/HTTP 400.*chat not found.*check chat_id/);
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain('AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw');
    expect(isPermanentHttpError(error)).toBe(true);
  });

  it('rejects a wrong token (401) and HTTP 500 without the token in the message', async () => {
    const wrong = await buildNotifier(telegramNotification, { id: 'tg', api_token: '111:WrongTokenValue', chat_id: CHAT, api_base: receiver.url });
    const unauthorized = await rejectionOf(wrong.notify({ kind: 'run', run: makeRunReport({ status: 'failure' }) }, { signal: AbortSignal.timeout(5000) }));
    expect(unauthorized.message).toMatch(/HTTP 401.*Unauthorized.*@BotFather/);
    expect(unauthorized.message).not.toContain('WrongTokenValue');

    receiver.respond(() => ({ status: 500, json: { ok: false, error_code: 500, description: 'Internal Server Error' } }));
    const notifier = await buildNotifier(telegramNotification, { id: 'tg', api_token: TOKEN, chat_id: CHAT, api_base: receiver.url });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport({ status: 'failure' }) }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toMatch(/HTTP 500/);
    expect(error.message).not.toContain('AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw');
    expect(error.message).not.toContain('/bot');
  });

  it('accepts the original README example and defaults api_base to api.telegram.org', () => {
    const parsed = telegramNotification.options.parse({ api_token: '295432120:use_your_own_token_here', chat_id: '38123456' });
    expect(parsed.api_base).toBe('https://api.telegram.org');
    expect(telegramNotification.options.safeParse({ api_token: '1:abc/../x', chat_id: '1' }).success).toBe(false);
  });
});
