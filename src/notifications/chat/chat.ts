/**
 * Shared by the message channels (slack, discord, matrix, telegram, ntfy): which events they
 * send, and the text cut to each service's limit. Not a plugin: no index.ts here (schema.ts
 * holds the option their schemas share). Loaded with a channel's instance (its create.ts).
 *
 * The unit is the run: one summary at the end (every source, its size, the error and the log
 * tail), sent on failure by default as the original's examples did (`notify_on_success: 0`,
 * `notify_on_failure: 1`). `per_source: 1` restores the original's one message per source.
 */
import type { NotificationCommon } from '../../config/common.js';
import { runOutcomeWanted, type EventDefaults } from '../events.js';
import { eventBody, eventTitle } from '../message.js';
import { NotificationError } from '../../errors.js';
import { API_PATH_WORDS } from '../../secrets.js';
import { HttpStatusError, sendHttp, type HttpRequest, type HttpResponse } from '../../lib/http.js';
import type { NotificationEvent } from '../types.js';

/** The original's defaults for chat channels: failures only. */
export const CHAT_DEFAULTS: EventDefaults = { start: false, success: false, failure: true };

export type ChatOptions = NotificationCommon & { per_source?: boolean };

/**
 * The chat channels' `wants`. Run mode: the `run` summary by the run's outcome (also sent after
 * a failure outside any source: job file, lock), and `start` when asked for (a start is per
 * source by nature). Per-source mode: start/success/failure, the failure with no source included.
 */
export function chatWants(options: ChatOptions, defaults: EventDefaults = CHAT_DEFAULTS): (event: NotificationEvent) => boolean {
  const start = options.notify_on_start ?? defaults.start;
  const success = options.notify_on_success ?? defaults.success;
  const failure = options.notify_on_failure ?? defaults.failure;
  if (options.per_source) {
    return ({ kind }) => (kind === 'start' ? start : kind === 'success' ? success : kind === 'failure' ? failure : false);
  }
  return (event) => (event.kind === 'run' ? runOutcomeWanted(event, options, defaults) : event.kind === 'start' ? start : false);
}

export interface ChatText {
  title: string;
  body: string;
}

/** Title and body (redacted by message.ts), a dry run marked as such. */
export function chatText(event: NotificationEvent, logLines = 10): ChatText {
  const title = eventTitle(event);
  return { title: event.run.dryRun ? `[dry run] ${title}` : title, body: eventBody(event, { logLines }) };
}

const MARK = '\n[…]\n';

/**
 * Cuts `text` to `max` UTF-16 code units (JavaScript string length, which is how Discord and
 * Telegram count) keeping the head (what failed) and the tail (the last log lines).
 */
export function fitChars(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= MARK.length) return safeSlice(text, 0, max);
  const room = max - MARK.length;
  const head = Math.floor(room * 0.4);
  return safeSlice(text, 0, head) + MARK + safeSlice(text, text.length - (room - head), text.length);
}

/** The same, counted in UTF-8 bytes (ntfy), never splitting a character. */
export function fitBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  const room = max - Buffer.byteLength(MARK);
  const head = Math.floor(room * 0.4);
  return headBytes(text, head) + MARK + tailBytes(text, room - head);
}

/** The last `max` bytes of `text` in UTF-8, cut at a character boundary (log tails: the end matters). */
export function tailBytes(text: string, max: number): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= max) return text;
  let start = bytes.length - max;
  // Skip UTF-8 continuation bytes (10xxxxxx) so the cut lands on a character start.
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString('utf8');
}

function headBytes(text: string, max: number): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= max) return text;
  let end = max;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** slice() that does not leave half a surrogate pair at either end. */
function safeSlice(text: string, start: number, end: number): string {
  let s = start;
  let e = end;
  if (s > 0 && isLowSurrogate(text.charCodeAt(s))) s++;
  if (e < text.length && isLowSurrogate(text.charCodeAt(e))) e--;
  return text.slice(s, e);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** The channel's name in errors and logs: its job-file id (the loader always sets one). */
export function channelId(options: NotificationCommon, type: string): string {
  return options.id ?? type;
}

/**
 * `sendHttp` for the channels of this folder: on failure, what the service said is kept, any
 * piece of the request's path or query that could be a token (a server or proxy may echo the
 * URL in its error page) is masked, and for the given statuses what to do is added. The HTTP
 * status (and with it the dispatcher's retry verdict) is kept.
 */
export async function send(request: HttpRequest, hints: Partial<Record<number, string>> = {}): Promise<HttpResponse> {
  try {
    return await sendHttp(request);
  } catch (error) {
    if (!(error instanceof NotificationError)) throw error;
    const message = scrubUrlParts(error.message, request.url);
    if (error instanceof HttpStatusError) {
      const hint = hints[error.status];
      throw new HttpStatusError(error.status, hint ? `${message} (${hint})` : message, request.plugin);
    }
    throw new NotificationError(message, { plugin: request.plugin });
  }
}

/** Masks the URL's path segments and query values (6+ characters: tokens, not "api") in `text`. */
export function scrubUrlParts(text: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return text;
  }
  const parts = new Set<string>();
  const add = (value: string) => {
    if (value.length < 6 || API_PATH_WORDS.has(value)) return;
    parts.add(value);
    try {
      parts.add(decodeURIComponent(value));
    } catch {
      // keep the raw form only
    }
  };
  add(parsed.pathname.replace(/^\/+|\/+$/g, ''));
  for (const segment of parsed.pathname.split('/')) add(segment);
  for (const value of parsed.searchParams.values()) add(encodeURIComponent(value));
  let out = text;
  for (const part of [...parts].sort((a, b) => b.length - a.length)) out = out.split(part).join('***');
  return out;
}
