/**
 * The `matrix` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { channelId, chatText, chatWants, fitChars, send } from '../chat/chat.js';
import { NotificationError } from '../../errors.js';
import type { NotificationEvent, Notifier, NotificationOptions } from '../types.js';
import type { MatrixOptions } from './schema.js';

/** Events are limited to 64 KiB; a notification has no business being near that. */
const MAX_BODY = 16_000;

const HINTS = {
  401: 'the access_token is invalid or expired: log the bot user in again and update access_token',
  403: 'the account may not post in this room: invite the bot user and let it join',
  404: 'the room (or alias) does not exist on this homeserver',
};

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Percent-encodes a path segment strictly (RFC 3986): room ids start with "!" and hold ":". */
export function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Same event of the same run → same transaction id (the homeserver then ignores a retry). */
export function transactionId(event: NotificationEvent, channel: string): string {
  const source = event.kind === 'run' ? 'run' : (event.source?.id ?? 'job');
  return `backup.${event.run.runId}.${channel}.${event.kind}.${source}`.replace(/[^A-Za-z0-9._~-]/g, '_');
}

export function create(options: NotificationOptions<ReturnType<typeof MatrixOptions>>): Notifier {
  const plugin = channelId(options, 'matrix');
  const base = options.url.replace(/\/+$/, '');
  const auth = { authorization: `Bearer ${options.access_token}` };
  let roomId = options.room_id.startsWith('!') ? options.room_id : undefined;

  async function resolveRoom(signal: AbortSignal): Promise<string> {
    if (roomId) return roomId;
    const response = await send(
      { method: 'GET', url: `${base}/_matrix/client/v3/directory/room/${encodeSegment(options.room_id)}`, headers: auth, signal, plugin },
      HINTS,
    );
    const found = (JSON.parse(response.text || '{}') as { room_id?: unknown }).room_id;
    if (typeof found !== 'string' || !found.startsWith('!')) {
      throw new NotificationError(`the homeserver did not resolve the room alias ${options.room_id} to a room id`, { plugin });
    }
    roomId = found;
    return found;
  }

  return {
    wants: chatWants(options),
    async notify(event, { signal }) {
      const { title, body } = chatText(event);
      const text = fitChars(body, MAX_BODY);
      const room = await resolveRoom(signal);
      const path = `/_matrix/client/v3/rooms/${encodeSegment(room)}/send/m.room.message/${encodeSegment(transactionId(event, plugin))}`;
      const content = {
        msgtype: 'm.text',
        body: `${title}\n\n${text}`,
        format: 'org.matrix.custom.html',
        formatted_body: `<strong>${escapeHtml(title)}</strong><pre><code>${escapeHtml(text)}</code></pre>`,
      };
      await send(
        { method: 'PUT', url: `${base}${path}`, headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(content), signal, plugin },
        HINTS,
      );
    },
  };
}
