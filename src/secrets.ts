/**
 * Secret handling shared by every layer: which job-file keys hold secrets, and a redactor
 * that every log line, error message and notification text passes through.
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

const MASK = '***';

/**
 * Collects secret values as the job file is resolved and replaces them in any text.
 * Short values (under 4 characters) are still redacted: a 3-character password is still a
 * password, and false positives in logs are cheaper than a leak.
 */
export class Redactor {
  private readonly values = new Set<string>();

  add(value: string | undefined | null): void {
    if (!value) return;
    const trimmed = value.trim();
    if (trimmed.length === 0) return;
    this.values.add(trimmed);
    // Secrets also travel URL-encoded (query strings, basic-auth URLs) and base64-encoded (Basic auth).
    const encoded = encodeURIComponent(trimmed);
    if (encoded !== trimmed) this.values.add(encoded);
  }

  get size(): number {
    return this.values.size;
  }

  redact(text: string): string {
    if (this.values.size === 0 || !text) return text;
    let out = text;
    // Longest first, so a secret containing another is masked whole.
    for (const value of [...this.values].sort((a, b) => b.length - a.length)) {
      if (out.includes(value)) out = out.split(value).join(MASK);
    }
    return out;
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
