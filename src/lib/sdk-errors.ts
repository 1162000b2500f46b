/**
 * Errors of the cloud SDKs (cloud sources and destinations) as they may be passed on. SDK
 * errors carry their request (with Authorization headers, signed URLs, upload session ids):
 * they never travel on as `cause`. What the operator needs (the network error code, the
 * server's first line, redacted) is copied into a plain error.
 */
import { redactedExcerpt } from '../secrets.js';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/** The network error code (ECONNREFUSED...) anywhere in the cause chain, if any. */
export function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    const errno = (current as { errno?: unknown }).errno;
    if (typeof errno === 'string' && NETWORK_CODES.has(errno)) return errno;
    const message = (current as { message?: unknown }).message;
    if (typeof message === 'string') {
      const m = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b/.exec(message);
      if (m) return m[1];
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A first error of the given class anywhere in the cause chain. */
export function findInChain<T>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (current instanceof type) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * What a server said, for an error message: its first line, redacted and cut short. A server or
 * proxy may echo the whole request (URL, Authorization header, body) in its error page.
 */
export function serverSaid(text: string | undefined, max = 200): string {
  return text ? redactedExcerpt(text.split('\n')[0]!, max) : '';
}

/** A plain Error with the first line of the SDK's message only: safe to keep as `cause`. */
export function safeCause(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  const cause = new Error(serverSaid(message, 500));
  cause.name = error instanceof Error ? error.name : 'Error';
  return cause;
}
