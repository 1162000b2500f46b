/**
 * Google's OAuth 2.0 token endpoint for service accounts, as documented in "Using OAuth 2.0 for
 * Server to Server Applications": POST application/x-www-form-urlencoded with
 * grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer and an RS256-signed JWT `assertion`
 * whose claims are iss (the client_email), scope, aud (the token URL), iat and exp (at most
 * one hour later). Answers {access_token, expires_in, token_type: "Bearer"}, or 400
 * {error: "invalid_grant", error_description} when the JWT is not acceptable.
 *
 * Also the helpers to make a service-account key file whose token_uri points at the fake,
 * and the documented 401 body of Google's JSON APIs for a missing or invalid token.
 */
import { generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson, type FakeRequest } from './http.js';

export interface ServiceAccount {
  email: string;
  publicKey: KeyObject;
  /** The key file's JSON (with private_key), token_uri filled in by keyFile(). */
  privateKeyPem: string;
}

export function makeServiceAccount(email = 'backup@project-1.iam.gserviceaccount.com'): ServiceAccount {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { email, publicKey, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export function keyFile(account: ServiceAccount, tokenUri: string): string {
  return JSON.stringify({
    type: 'service_account',
    project_id: 'project-1',
    private_key_id: randomBytes(20).toString('hex'),
    private_key: account.privateKeyPem,
    client_email: account.email,
    client_id: '1234567890',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: tokenUri,
  });
}

/** Google's JSON API error body (as documented for Cloud Storage and Drive). */
export function googleError(res: ServerResponse, code: number, message: string, reason: string, extra: Record<string, string> = {}): void {
  sendJson(res, code, { error: { code, message, errors: [{ message, domain: 'global', reason, ...extra }] } });
}

export function invalidCredentials(res: ServerResponse): void {
  googleError(res, 401, 'Invalid Credentials', 'authError', { locationType: 'header', location: 'Authorization' });
}

export class GoogleTokenIssuer {
  private readonly accounts = new Map<string, KeyObject>();
  private readonly issued = new Map<string, { email: string; scopes: string[]; expires: number }>();
  /** Set to make every API call answer 401 even with a token (a revoked token). */
  revokeAll = false;

  constructor(readonly tokenPath = '/token') {}

  register(account: ServiceAccount): void {
    this.accounts.set(account.email, account.publicKey);
  }

  /** Handles POST {tokenPath}; returns false for other requests. */
  handle(req: FakeRequest, res: ServerResponse, baseUrl: string): boolean {
    if (req.url.pathname !== this.tokenPath) return false;
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'invalid_request', error_description: 'POST only' });
      return true;
    }
    const form = new URLSearchParams(req.body.toString('utf8'));
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type: ' + (form.get('grant_type') ?? '') });
      return true;
    }
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) {
      sendJson(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe' });
      return true;
    }
    const [h, c, s] = parts as [string, string, string];
    let claims: { iss?: string; scope?: string; aud?: string; iat?: number; exp?: number };
    let header: { alg?: string };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof header;
      claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      sendJson(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT.' });
      return true;
    }
    const publicKey = claims.iss ? this.accounts.get(claims.iss) : undefined;
    if (header.alg !== 'RS256' || !publicKey) {
      sendJson(res, 400, { error: 'invalid_grant', error_description: 'Invalid grant: account not found' });
      return true;
    }
    if (!verify('RSA-SHA256', Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s, 'base64url'))) {
      sendJson(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
      return true;
    }
    const now = Math.floor(Date.now() / 1000);
    if (claims.aud !== `${baseUrl}${this.tokenPath}` || !claims.iat || !claims.exp || claims.exp - claims.iat > 3600 || claims.exp < now) {
      sendJson(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.' });
      return true;
    }
    if (!claims.scope) {
      sendJson(res, 400, { error: 'invalid_scope', error_description: 'Invalid OAuth scope or ID token audience provided.' });
      return true;
    }
    const token = `ya29.${randomBytes(24).toString('base64url')}`;
    this.issued.set(token, { email: claims.iss!, scopes: claims.scope.split(' '), expires: Date.now() + 3600_000 });
    sendJson(res, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
    return true;
  }

  /** True when the request carries a live token with one of `scopes`; otherwise answers 401 and returns false. */
  authorize(req: FakeRequest, res: ServerResponse, scopes: readonly string[]): boolean {
    const match = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    const grant = match ? this.issued.get(match[1]!) : undefined;
    if (this.revokeAll || !grant || grant.expires < Date.now()) {
      invalidCredentials(res);
      return false;
    }
    if (!grant.scopes.some((s) => scopes.includes(s))) {
      googleError(res, 403, 'Request had insufficient authentication scopes.', 'insufficientPermissions');
      return false;
    }
    return true;
  }
}
