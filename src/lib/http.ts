/**
 * HTTP for the notification channels, written once: fetch with the caller's abort signal,
 * errors that name the channel and the HTTP status without leaking the URL (webhook URLs and
 * push URLs carry tokens), and the verdict on which failures are worth retrying that the
 * notification dispatcher (src/pipeline/notify.ts) asks.
 */
import { NotificationError } from '../errors.js';
import { redact, redactedExcerpt } from '../secrets.js';

export interface HttpRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'HEAD';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal: AbortSignal;
  /** Channel id, for the error message. */
  plugin: string;
  /** Statuses that count as delivered besides 2xx (duplistatus' 409 duplicate). */
  acceptStatus?: readonly number[];
}

export interface HttpResponse {
  status: number;
  text: string;
}

/** Where a request went, without path or query (they hold tokens). */
export function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}

export class HttpStatusError extends NotificationError {
  constructor(
    readonly status: number,
    message: string,
    plugin: string,
  ) {
    super(message, { plugin });
  }
}

export async function sendHttp(request: HttpRequest): Promise<HttpResponse> {
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method ?? 'POST',
      headers: request.headers,
      body: request.body,
      signal: request.signal,
    });
  } catch (error) {
    const reason = request.signal.aborted ? 'timed out' : ((error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
    throw new NotificationError(`request to ${safeOrigin(request.url)} failed: ${redact(String(reason))}`, { plugin: request.plugin });
  }
  const text = await response.text().catch(() => '');
  if (response.ok || request.acceptStatus?.includes(response.status)) return { status: response.status, text };
  // Status and a short excerpt: a proxy may echo the whole request (URL, headers, body) back.
  const excerpt = redactedExcerpt(text);
  throw new HttpStatusError(
    response.status,
    `${safeOrigin(request.url)} answered HTTP ${response.status}${excerpt ? `: ${excerpt}` : ''}`,
    request.plugin,
  );
}

/**
 * 4xx other than 408 and 429 will not get better by retrying; nor will an error a channel
 * marks `permanent` (an SMTP login refused: retrying could lock the account).
 */
export function isPermanentHttpError(error: unknown): boolean {
  if ((error as { permanent?: unknown } | null)?.permanent === true) return true;
  return error instanceof HttpStatusError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
