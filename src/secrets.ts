/**
 * Secret handling shared by every layer: which job-file keys hold secrets, and a redactor
 * that every log line, error message and notification text passes through.
 *
 * A secret rarely leaks as it was typed: a server that echoes a failed request shows it
 * URL-encoded in a query, as the path of a webhook URL, base64-encoded in a Basic
 * `Authorization` header, or JSON-escaped inside an echoed body that is itself logged as JSON.
 * So every value is registered with the forms it travels in, computed once at registration.
 */

/** Keys whose values are secrets wherever they appear in a job file. Plugins may add more. */
export const SECRET_KEYS = new Set([
  'passphrase',
  'dbpass',
  'password',
  'secret',
  'aws_secret_access_key',
  'aws_session_token',
  'secret_key',
  'application_key',
  'access_token',
  'refresh_token',
  'app_secret',
  'api_token',
  'token',
  'client_secret',
  'private_key',
  'hmac_secret',
]);

/** Encryption passphrases shorter than this are refused when the job file is loaded. */
export const MIN_PASSPHRASE_LENGTH = 8;

/**
 * Secrets (and derived forms) shorter than this are masked only as whole tokens, between
 * non-word characters: masking `pp` inside `floppy` would garble the message and show where
 * the secret sits, while `pp` on its own (`--password pp`) is still masked.
 */
export const WHOLE_TOKEN_BELOW = 6;

const MASK = '***';

/** Fixed words of API paths: never tokens, and masking them would garble messages. */
export const API_PATH_WORDS: ReadonlySet<string> = new Set(['services', 'webhooks', '_matrix', 'client', 'directory', 'm.room.message', 'sendMessage', 'status']);

/** Query parameter names whose values are credentials whatever they look like. */
const SECRET_PARAM = /token|key|secret|sig|pass|auth|code|session|cred/i;

/** A URL path segment or query value that looks like a generated token rather than a word. */
function looksLikeToken(value: string): boolean {
  if (API_PATH_WORDS.has(value)) return false;
  if (value.length >= 16) return true;
  return value.length >= WHOLE_TOKEN_BELOW && (/\d/.test(value) || (/[a-z]/.test(value) && /[A-Z]/.test(value)));
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The ways one string travels: as typed, URL-encoded (encodeURIComponent and encodeURI),
 * form-encoded (`+` for spaces), JSON-escaped (once and twice), and, for values of
 * WHOLE_TOKEN_BELOW characters or more, base64 (padded, unpadded and base64url).
 */
export function encodedForms(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  // encodeURI* throw on a lone surrogate: such a secret simply has no URL-encoded form.
  const uri = (encode: (v: string) => string) => {
    try {
      return encode(value);
    } catch {
      return value;
    }
  };
  const forms = [
    value,
    uri(encodeURIComponent),
    uri(encodeURIComponent).replace(/%20/g, '+'),
    new URLSearchParams({ v: value }).toString().slice(2),
    uri(encodeURI),
    json,
    // JSON inside JSON: an echoed JSON body logged as a JSON line.
    JSON.stringify(json).slice(1, -1),
  ];
  if (value.length >= WHOLE_TOKEN_BELOW) forms.push(...base64Forms(value));
  return forms;
}

function base64Forms(value: string): string[] {
  const b64 = Buffer.from(value).toString('base64');
  return [b64, b64.replace(/=+$/, ''), Buffer.from(value).toString('base64url')];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Collects secret values as the job file is resolved and replaces them, and every derived
 * form, in any text. Values and forms of 6 characters or more are masked wherever they
 * appear; shorter ones only as whole tokens (see WHOLE_TOKEN_BELOW).
 */
export class Redactor {
  private readonly forms = new Set<string>();
  private pattern: RegExp | undefined;

  /**
   * Registers a secret with its encoded forms. A URL (webhook, push URL) also registers the
   * parts that leak on their own: its path, token-like path segments, query values and
   * userinfo; an `Authorization` value (`Bearer x`, `Basic b64`) also registers what it carries.
   */
  add(value: string | undefined | null): void {
    if (!value) return;
    const trimmed = value.trim();
    if (trimmed.length === 0) return;
    this.addForms(trimmed);
    if (/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(trimmed)) this.addUrlParts(trimmed);
    const auth = /^(Bearer|Token|ApiKey|Basic)\s+(\S+)$/i.exec(trimmed);
    if (auth) {
      this.addForms(auth[2]!);
      if (auth[1]!.toLowerCase() === 'basic') {
        const decoded = Buffer.from(auth[2]!, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) this.addLogin(decoded.slice(0, colon), decoded.slice(colon + 1));
      }
    }
  }

  /**
   * A user name and its password: the password, `user:password` with its base64 (HTTP Basic
   * auth) and the base64 of SMTP's AUTH PLAIN (`\0user\0password`).
   */
  addLogin(username: string | undefined, password: string | undefined | null): void {
    if (!password) return;
    this.add(password);
    if (!username) return;
    const pair = `${username}:${password}`;
    this.addForms(pair);
    for (const form of [...base64Forms(pair), ...base64Forms(`\0${username}\0${password}`)]) this.addForm(form);
  }

  /** The login a URL carries (`https://user:pass@host/`), if any; the rest of the URL is no secret. */
  addUrlLogin(value: string): void {
    if (!/^[a-z][a-z0-9+.-]*:\/\/[^/\s@]*:[^/\s@]*@/i.test(value)) return;
    try {
      const url = new URL(value);
      if (url.password) this.addLogin(safeDecode(url.username), safeDecode(url.password));
    } catch {
      // not a URL after all
    }
  }

  get size(): number {
    return this.forms.size;
  }

  redact(text: string): string {
    if (this.forms.size === 0 || !text) return text;
    this.pattern ??= this.buildPattern();
    return text.replace(this.pattern, MASK);
  }

  private addForms(value: string): void {
    for (const form of encodedForms(value)) this.addForm(form);
  }

  private addForm(form: string): void {
    if (!form || this.forms.has(form)) return;
    this.forms.add(form);
    this.pattern = undefined;
  }

  private addUrlParts(value: string): void {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return;
    }
    this.addUrlLogin(value);
    const path = url.pathname.replace(/\/+$/, '');
    // The path as a whole is what a proxy's "Cannot POST /services/T0/B0/xyz" echoes.
    if (path.length > 1) {
      this.addForms(path);
      if (url.search) this.addForms(`${path}${url.search}`);
    }
    for (const segment of url.pathname.split('/')) {
      for (const form of new Set([segment, safeDecode(segment)])) if (looksLikeToken(form)) this.addForms(form);
    }
    for (const [name, raw] of url.searchParams) {
      if (raw && (SECRET_PARAM.test(name) || looksLikeToken(raw))) this.addForms(raw);
    }
  }

  /** One pass over the text: long forms first (a secret containing another is masked whole), then short ones as whole tokens. */
  private buildPattern(): RegExp {
    const byLength = [...this.forms].sort((a, b) => b.length - a.length);
    const long = byLength.filter((f) => f.length >= WHOLE_TOKEN_BELOW).map(escapeRegExp);
    const short = byLength.filter((f) => f.length < WHOLE_TOKEN_BELOW).map(escapeRegExp);
    const alternatives = [...long];
    if (short.length > 0) alternatives.push(`(?<![\\p{L}\\p{N}_])(?:${short.join('|')})(?![\\p{L}\\p{N}_])`);
    return new RegExp(alternatives.join('|'), 'gu');
  }
}

/** The process-wide redactor: secrets are registered once when the job file is loaded. */
export const redactor = new Redactor();

/** Userinfo in URLs (`https://user:pass@host`) is masked even when not registered. */
export function maskUrlCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+):([^/\s@]+)@/gi, `$1$2:${MASK}@`);
}

export function redact(text: string): string {
  return maskUrlCredentials(redactor.redact(text));
}

/**
 * A copy of plain data (a report for export) with every string redacted, keys included.
 * Redacting the JSON text instead would break it when a secret is a JSON word (a password `1`
 * or `true` masked inside `"copies":1`).
 */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactDeep(item)) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactDeep(v)])) as T;
}

/**
 * A server's answer as one short line for an error message: redacted first (so a cut never
 * leaves half a secret that no longer matches), then whitespace folded and cut to `max`.
 */
export function redactedExcerpt(text: string, max = 200): string {
  const line = redact(text).replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
