/**
 * Service-account access tokens for the Google destinations (gs, gdrive), by the documented
 * OAuth 2.0 JWT-bearer flow: sign an RS256 assertion with the key file's private key and post
 * it to the key file's `token_uri`. The Google SDKs hard-code Google's token URL; reading
 * `token_uri` from the key file keeps private/sovereign endpoints and local test fakes working.
 * The SDKs receive the token through an OAuth2Client `refreshHandler`.
 */
import { sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { redactor } from '../../secrets.js';

export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

export interface ServiceAccountKey {
  type?: string;
  client_email: string;
  private_key: string;
  private_key_id?: string;
  project_id?: string;
  token_uri?: string;
}

export interface AccessToken {
  access_token: string;
  /** Milliseconds since the epoch. */
  expiry_date: number;
}

/** Thrown for every failure here; the message never holds the key or a token. */
export class ServiceAccountError extends Error {}

export async function readServiceAccountKey(path: string): Promise<ServiceAccountKey> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ServiceAccountError(`cannot read the service account key file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ServiceAccountError(`the service account key file ${path} is not JSON (download a JSON key for the service account)`);
  }
  const key = parsed as Partial<ServiceAccountKey>;
  if (typeof key !== 'object' || key === null || typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw new ServiceAccountError(`${path} is not a service account key: it needs client_email and private_key (type "service_account")`);
  }
  if (key.type !== undefined && key.type !== 'service_account') {
    throw new ServiceAccountError(`${path} holds credentials of type "${key.type}", not a service account key`);
  }
  return key as ServiceAccountKey;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** Fetches and caches access tokens for one key and scope set. */
export class ServiceAccountTokens {
  private cached?: AccessToken;
  private inflight?: Promise<AccessToken>;

  constructor(
    private readonly key: ServiceAccountKey,
    private readonly scopes: readonly string[],
    private readonly timeoutMs = 30_000,
  ) {}

  get email(): string {
    return this.key.client_email;
  }

  /** A valid token, refreshed five minutes before it expires. */
  async token(): Promise<AccessToken> {
    if (this.cached && this.cached.expiry_date - Date.now() > 300_000) return this.cached;
    this.inflight ??= this.fetchToken().finally(() => (this.inflight = undefined));
    this.cached = await this.inflight;
    return this.cached;
  }

  /** Forget the cached token (after the API rejected it). */
  invalidate(): void {
    this.cached = undefined;
  }

  private assertion(tokenUri: string): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', ...(this.key.private_key_id ? { kid: this.key.private_key_id } : {}) };
    const claims = { iss: this.key.client_email, scope: this.scopes.join(' '), aud: tokenUri, iat: now, exp: now + 3600 };
    const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    let signature: Buffer;
    try {
      signature = sign('RSA-SHA256', Buffer.from(unsigned), this.key.private_key);
    } catch {
      throw new ServiceAccountError('the private_key in the service account key file is not a valid PEM RSA key');
    }
    return `${unsigned}.${base64url(signature)}`;
  }

  private async fetchToken(): Promise<AccessToken> {
    const tokenUri = this.key.token_uri ?? GOOGLE_TOKEN_URI;
    const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: this.assertion(tokenUri) });
    let response: Response;
    try {
      response = await fetch(tokenUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ServiceAccountError(`cannot reach the token endpoint ${tokenUri}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // keep the status line only
    }
    if (!response.ok) {
      const what = [json.error, json.error_description].filter((v) => typeof v === 'string').join(': ');
      throw new ServiceAccountError(
        `the token endpoint refused the service account ${this.key.client_email} (HTTP ${response.status}${what ? ` ${what}` : ''}); check that the key file is current and the key was not deleted or disabled`,
      );
    }
    if (typeof json.access_token !== 'string') throw new ServiceAccountError(`the token endpoint ${tokenUri} answered without an access_token`);
    // A token handed out at run time is as secret as the key: an echoing server must not show it.
    redactor.add(json.access_token);
    const expiresIn = typeof json.expires_in === 'number' ? json.expires_in : 3600;
    return { access_token: json.access_token, expiry_date: Date.now() + expiresIn * 1000 };
  }
}
