import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isPermanentHttpError } from '../../src/lib/http.js';
import { matrixNotification } from '../../src/notifications/matrix/index.js';
import { startReceiver, type Receiver, type RecordedRequest, type ReceiverResponse } from '../support/http-receiver.js';
import { buildNotifier, deliver, rejectionOf } from '../support/notifier-harness.js';
import { eventsOf, makeRunReport } from '../support/reports.js';

const TOKEN = 'syt_YmFja3Vw_MatrixSecretToken_0xyz';
const ROOM = '!AbCdEf123:example.org';
const ALIAS = '#backups:example.org';

/**
 * A homeserver's client-server API, as the spec defines the two endpoints used:
 * PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId} (Bearer token, JSON content,
 * 200 {event_id}; the same txnId gives the same event) and GET /_matrix/client/v3/directory/room/{roomAlias}.
 */
function homeserver() {
  const events = new Map<string, string>();
  return (req: RecordedRequest): ReceiverResponse => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      return { status: 401, json: { errcode: req.headers.authorization ? 'M_UNKNOWN_TOKEN' : 'M_MISSING_TOKEN', error: 'Invalid access token passed.' } };
    }
    const parts = req.pathname.split('/').map((p) => decodeURIComponent(p));
    // ['', '_matrix', 'client', 'v3', 'directory', 'room', alias]
    if (req.method === 'GET' && parts.slice(1, 6).join('/') === '_matrix/client/v3/directory/room' && parts.length === 7) {
      return parts[6] === ALIAS ? { json: { room_id: ROOM, servers: ['example.org'] } } : { status: 404, json: { errcode: 'M_NOT_FOUND', error: 'Room alias not found' } };
    }
    // ['', '_matrix', 'client', 'v3', 'rooms', roomId, 'send', eventType, txnId]
    if (req.method === 'PUT' && parts.length === 9 && parts.slice(1, 5).join('/') === '_matrix/client/v3/rooms' && parts[6] === 'send') {
      if (parts[5] !== ROOM) return { status: 403, json: { errcode: 'M_FORBIDDEN', error: 'User @backup:example.org not in room' } };
      if (parts[7] !== 'm.room.message') return { status: 400, json: { errcode: 'M_UNKNOWN', error: 'unexpected event type' } };
      const content = req.json<{ msgtype?: unknown; body?: unknown }>();
      if (content.msgtype !== 'm.text' || typeof content.body !== 'string') return { status: 400, json: { errcode: 'M_BAD_JSON', error: 'msgtype and body required' } };
      const txn = parts[8]!;
      const eventId = events.get(txn) ?? `$event${events.size + 1}`;
      events.set(txn, eventId);
      return { json: { event_id: eventId } };
    }
    return { status: 404, json: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' } };
  };
}

describe('matrix notification', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver(homeserver());
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.clear();
    receiver.respond(homeserver());
  });

  it('PUTs an m.text message to the URL-encoded room id with the Bearer token', async () => {
    const notifier = await buildNotifier(matrixNotification, { id: 'room', url: `${receiver.url}/`, access_token: TOKEN, room_id: ROOM });
    await deliver(notifier, eventsOf(makeRunReport({ status: 'failure' })));
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('PUT');
    expect(req.pathname.startsWith('/_matrix/client/v3/rooms/%21AbCdEf123%3Aexample.org/send/m.room.message/')).toBe(true);
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const content = req.json<{ msgtype: string; body: string; format: string; formatted_body: string }>();
    expect(content.msgtype).toBe('m.text');
    expect(content.body).toContain('Backup FAILED: db1.example.org nightly (1 source)');
    expect(content.body).toContain('Lost connection to MySQL server');
    expect(content.format).toBe('org.matrix.custom.html');
    expect(content.formatted_body).toContain('<strong>Backup FAILED');
  });

  it('reuses the transaction id when the same event is sent again, so a retry does not post twice', async () => {
    const notifier = await buildNotifier(matrixNotification, { id: 'room', url: receiver.url, access_token: TOKEN, room_id: ROOM });
    const event = { kind: 'run' as const, run: makeRunReport({ status: 'failure' }) };
    await notifier.notify(event, { signal: AbortSignal.timeout(5000) });
    await notifier.notify(event, { signal: AbortSignal.timeout(5000) });
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[0]!.pathname).toBe(receiver.requests[1]!.pathname);
    const other = { kind: 'run' as const, run: makeRunReport({ status: 'failure', runId: 'another-run' }) };
    await notifier.notify(other, { signal: AbortSignal.timeout(5000) });
    expect(receiver.requests[2]!.pathname).not.toBe(receiver.requests[0]!.pathname);
  });

  it('resolves a room alias once, then posts to the room id', async () => {
    const notifier = await buildNotifier(matrixNotification, { id: 'room', url: receiver.url, access_token: TOKEN, room_id: ALIAS, notify_on_success: 1 });
    await deliver(notifier, eventsOf(makeRunReport()));
    await deliver(notifier, eventsOf(makeRunReport({ runId: 'second' })));
    expect(receiver.requests.map((r) => r.method)).toEqual(['GET', 'PUT', 'PUT']);
    expect(receiver.requests[0]!.pathname).toBe('/_matrix/client/v3/directory/room/%23backups%3Aexample.org');
    expect(receiver.requests[1]!.pathname).toContain('/rooms/%21AbCdEf123%3Aexample.org/send/m.room.message/');
  });

  it('explains a room the bot has not joined (403) without the token', async () => {
    const notifier = await buildNotifier(matrixNotification, { id: 'room', url: receiver.url, access_token: TOKEN, room_id: '!Other:example.org' });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport({ status: 'failure' }) }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toMatch(/HTTP 403.*M_FORBIDDEN.*invite the bot user/);
    expect(error.message).not.toContain(TOKEN);
    expect(isPermanentHttpError(error)).toBe(true);
  });

  it('rejects a wrong token (401) and HTTP 500 without leaking the token', async () => {
    const wrong = await buildNotifier(matrixNotification, { id: 'room', url: receiver.url, access_token: 'syt_wrong_token_value', room_id: ROOM });
    const unauthorized = await rejectionOf(wrong.notify({ kind: 'run', run: makeRunReport({ status: 'failure' }) }, { signal: AbortSignal.timeout(5000) }));
    expect(unauthorized.message).toMatch(/HTTP 401.*M_UNKNOWN_TOKEN.*access_token/);
    expect(unauthorized.message).not.toContain('syt_wrong_token_value');

    receiver.respond(() => ({ status: 500, body: 'Internal Server Error' }));
    const notifier = await buildNotifier(matrixNotification, { id: 'room', url: receiver.url, access_token: TOKEN, room_id: ROOM });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: makeRunReport({ status: 'failure' }) }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toMatch(/HTTP 500/);
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain('AbCdEf123');
  });

  it('accepts the original README example keys and rejects a malformed room id', () => {
    const original = { url: 'https://matrix.org', access_token: 'ALongStringOfCharacters', room_id: '!roomidstringofchars@matrix.org' };
    expect(matrixNotification.options.safeParse(original).success).toBe(true);
    expect(matrixNotification.options.safeParse({ ...original, room_id: 'backups' }).success).toBe(false);
  });
});
