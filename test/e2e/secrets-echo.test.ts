/**
 * A hostile server: every notification channel and every HTTP destination of one job talks to
 * a server that answers 400 and echoes the request back (request line, headers, body), and an
 * SMTP server that echoes the login in its refusal. The built CLI runs the job with every
 * secret registered the way the loader does, in `--log-format text` and `json`, at debug
 * level; no secret, and none of its derived forms (URL path token, query value, URL- and
 * form-encoding, JSON escaping, `user:password` and its base64, the bearer token a token
 * endpoint handed out at run time), may appear in stdout, stderr, the state folder or the flag
 * file.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { filesUnder } from '../support/files.js';
import { keyFile, makeServiceAccount } from '../support/fakes/google-oauth.js';
import { startReceiver, type Receiver, type RecordedRequest } from '../support/http-receiver.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';
import { makeTree } from '../support/tree.js';

const PASSPHRASE = 'echo-Passphrase "quoted" & spaced 7c1d';
/** What the fake Google token endpoint hands out: a secret the job file never held. */
const RUNTIME_TOKEN = 'ya29.RuntimeBearer-Token_0b9e1f';

const S = {
  slack: 'SlackPathTokenQ7x2v9',
  discord: 'DiscordPathTokenZ9k4m1',
  hookPath: 'HookPathToken5d2Lq8',
  hookQuery: 'qtok 5/8+x&y=z',
  hookBearer: 'hook-Bearer-3e7Kd1',
  hmac: 'hmac-Secret-8f2Aq4',
  matrix: 'syt_MatrixAccessTokenW3m8',
  telegram: '987654:TelegramBotTokenR5t1',
  ntfyToken: 'tk_NtfyAccessTokenN4v7',
  ntfyPassword: 'ntfy-Pw "7" Basic',
  kuma: 'KumaPushTokP2q6',
  hc: 'a3d1c0de-7f0e-4b8e-9c1d-5e6f7a8b9c0d',
  promPassword: 'prom-Pw:with:colons 1',
  esPassword: 'es-Pw-0c9d8e7f/+',
  esApiKey: 'RVNBcGlLZXlJZDpFU0FwaUtleVNlY3JldA',
  smtpPassword: 'smtp-Pw ü 44!',
  s3Secret: 's3SecretKey/AbCdEf+0123456789xyz',
  s3Session: 'IQoJb3JpZ2luX2VjSessionToken+/==',
  minioSecret: 'minio-Secret-Key-99zz',
  b2Key: 'K005B2ApplicationKeyXyZ123',
  dropboxToken: 'sl.DropboxAccessToken-0a1b2c',
  dropboxRefresh: 'DropboxRefreshToken-9z8y7x',
  dropboxAppSecret: 'dbxAppSecret4k2',
} as const;
/** Names that travel with a password in Basic auth. */
const LOGINS: [user: string, password: string][] = [
  ['ntfy-user', S.ntfyPassword],
  ['prom-user', S.promPassword],
  ['elastic', S.esPassword],
  ['mailer', S.smtpPassword],
  ['005b2keyid0000000001', S.b2Key],
  ['dbxappkey123', S.dropboxAppSecret],
];

/** Every form a secret is known to travel in; none may reach the output. */
function derivedForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const b64 = Buffer.from(secret).toString('base64');
  return [
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, '+'),
    new URLSearchParams({ q: secret }).toString().slice(2),
    json,
    JSON.stringify(json).slice(1, -1),
    b64,
    b64.replace(/=+$/, ''),
  ];
}

function allForms(): Map<string, string> {
  const forms = new Map<string, string>();
  const add = (label: string, secret: string) => {
    for (const form of derivedForms(secret)) forms.set(form, label);
  };
  add('passphrase', PASSPHRASE);
  add('runtime bearer token', RUNTIME_TOKEN);
  for (const [name, value] of Object.entries(S)) add(name, value);
  for (const [user, password] of LOGINS) add(`${user}:password`, `${user}:${password}`);
  // SMTP AUTH PLAIN: base64 of "\0user\0password".
  add('smtp AUTH PLAIN', `\0mailer\0${S.smtpPassword}`);
  return forms;
}

/** 400 with the request as the body, Authorization first (a proxy's "bad request" page). */
function echo(req: RecordedRequest): { status: number; body: string } {
  const headers = Object.entries(req.headers).sort(([a], [b]) => (a === 'authorization' ? -1 : b === 'authorization' ? 1 : 0));
  return {
    status: 400,
    body: `bad request: ${req.method} ${req.path} HTTP/1.1\n${headers.map(([k, v]) => `${k}: ${String(v)}`).join('\n')}\n\n${req.text}`,
  };
}

/** An SMTP server that refuses every login and quotes it back. */
async function startEchoSmtp(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true,
    hideSTARTTLS: true,
    logger: false,
    onAuth(auth, _session, callback) {
      const plain = Buffer.from(`\0${auth.username ?? ''}\0${auth.password ?? ''}`).toString('base64');
      const error = new Error(`rejected ${auth.method} ${plain} for ${auth.username ?? ''}:${auth.password ?? ''}`) as Error & { responseCode: number };
      error.responseCode = 535;
      callback(error);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describeWith(['tar', 'zstd'], 'secrets against servers that echo the request', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let server: Receiver;
  let smtp: { port: number; close: () => Promise<void> };
  let job: Record<string, unknown>;

  beforeAll(async () => {
    tmp = await makeTempDir();
    server = await startReceiver((req) =>
      req.pathname === '/google/token' ? { json: { access_token: RUNTIME_TOKEN, expires_in: 3600, token_type: 'Bearer' } } : echo(req),
    );
    smtp = await startEchoSmtp();
    const data = join(tmp.path, 'data');
    await mkdir(data);
    await makeTree(data);
    const keyPath = join(tmp.path, 'google.json');
    await writeFile(keyPath, keyFile(makeServiceAccount(), `${server.url}/google/token`), { mode: 0o600 });
    const base = server.url;
    const on = { notify_on_start: 1, notify_on_success: 1, notify_on_failure: 1 };
    job = {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [
        {
          id: 's3',
          type: 's3',
          bucket: 'backups',
          region: 'us-east-1',
          endpoint_url: `${base}/s3`,
          credentials: { aws_access_key_id: 'AKIAECHOTEST0001', aws_secret_access_key: S.s3Secret, aws_session_token: S.s3Session },
        },
        { id: 'minio', type: 'minio', endpoint: `127.0.0.1:${server.port}`, secure: false, bucket: 'backups', credentials: { access_key: 'minioaccess', secret_key: S.minioSecret } },
        { id: 'gs', type: 'gs', bucket: 'backups', gcs_creds_path: keyPath, endpoint: `${base}/gcs` },
        { id: 'gdrive', type: 'gdrive', creds_file: keyPath, folder_id: 'root-folder', endpoint: `${base}/drive` },
        { id: 'b2', type: 'b2', bucket: 'backups', credentials: { application_key_id: LOGINS[4]![0], application_key: S.b2Key }, endpoint: `${base}/b2` },
        { id: 'dropbox', type: 'dropbox', access_token: S.dropboxToken, endpoint: `${base}/dropbox` },
        { id: 'dropbox-refresh', type: 'dropbox', refresh_token: S.dropboxRefresh, app_key: LOGINS[5]![0], app_secret: S.dropboxAppSecret, endpoint: `${base}/dropbox` },
      ],
      notifications: [
        { id: 'slack', type: 'slack', url: `${base}/slack/services/T0/B0/${S.slack}`, ...on },
        { id: 'discord', type: 'discord', url: `${base}/discord/api/webhooks/42/${S.discord}`, ...on },
        {
          id: 'webhook',
          type: 'webhook',
          url: `${base}/hook/${S.hookPath}?token=${encodeURIComponent(S.hookQuery)}`,
          headers: { Authorization: `Bearer ${S.hookBearer}` },
          hmac_secret: S.hmac,
          events: ['start', 'success', 'failure', 'run'],
        },
        { id: 'matrix', type: 'matrix', url: `${base}/matrix`, access_token: S.matrix, room_id: '!room:example.org', ...on },
        { id: 'telegram', type: 'telegram', api_token: S.telegram, chat_id: '-100123', api_base: `${base}/telegram`, ...on },
        { id: 'ntfy-token', type: 'ntfy', url: `${base}/ntfy/backups`, token: S.ntfyToken, ...on },
        { id: 'ntfy-login', type: 'ntfy', url: `${base}/ntfy/backups`, username: LOGINS[0]![0], password: S.ntfyPassword, ...on },
        { id: 'kuma', type: 'uptime-kuma', push_url: `${base}/kuma/api/push/${S.kuma}?status=up&msg=OK&ping=`, ...on },
        { id: 'hc', type: 'healthchecks', url: `${base}/hc/ping/${S.hc}`, ...on },
        { id: 'prometheus', type: 'prometheus', url: `${base}/prom`, credentials: { username: LOGINS[1]![0], password: S.promPassword }, ...on },
        { id: 'es-login', type: 'elasticsearch', url: `${base}/es`, credentials: { username: LOGINS[2]![0], password: S.esPassword }, ...on },
        { id: 'es-key', type: 'elasticsearch', url: `${base}/es`, api_key: S.esApiKey, ...on },
        { id: 'duplistatus', type: 'duplistatus', url: `${base}/duplistatus`, ...on },
        {
          id: 'mail',
          type: 'smtp',
          host: '127.0.0.1',
          port: smtp.port,
          from: 'backup@example.org',
          failure_to: 'ops@example.org',
          success_to: 'ops@example.org',
          credentials: { username: LOGINS[3]![0], password: S.smtpPassword },
          ...on,
        },
        { id: 'flag', type: 'flagfile', flagfile: join(tmp.path, 'flag') },
      ],
    };
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
    await tmp?.remove();
  });

  for (const format of ['text', 'json'] as const) {
    it(`nothing of any secret reaches the output (--log-format ${format})`, async () => {
      const dir = join(tmp.path, format);
      await mkdir(dir);
      const path = await writeJob(dir, job);
      server.clear();
      const result = await runCli(['-d', '--log-format', format, path]);
      const output = `${result.stdout}\n${result.stderr}`;
      expect(result.code, output).toBe(1);

      // The hostile part really happened: every channel and destination met the echo.
      const paths = server.requests.map((r) => r.pathname);
      for (const prefix of ['/s3', '/backups', '/gcs', '/drive', '/b2', '/dropbox', '/slack', '/discord', '/hook', '/matrix', '/telegram', '/ntfy', '/kuma', '/hc', '/prom', '/es', '/duplistatus']) {
        expect(paths.some((p) => p.startsWith(prefix)), `no request to ${prefix}: ${paths.join(' ')}\n${output.slice(0, 4000)}`).toBe(true);
      }
      expect(paths).toContain('/google/token');
      for (const id of ['s3', 'minio', 'gs', 'gdrive', 'b2', 'dropbox', 'dropbox-refresh', 'slack', 'discord', 'webhook', 'matrix', 'telegram', 'ntfy-token', 'ntfy-login', 'kuma', 'hc', 'prometheus', 'es-login', 'es-key', 'duplistatus', 'mail']) {
        expect(output, `nothing logged about ${id}`).toContain(id);
      }
      expect(output).toMatch(/HTTP 400/);

      let everything = output;
      // The job file holds the secrets; everything the run wrote must not.
      const state = join(dir, 'state');
      const written = await filesUnder(state);
      expect(written.length).toBeGreaterThan(0);
      for (const file of written) everything += `\n${file}\n${await readFile(join(state, file), 'utf8')}`;
      everything += await readFile(join(tmp.path, 'flag'), 'utf8').catch(() => '');
      const leaks = [...allForms()].filter(([form]) => everything.includes(form)).map(([form, label]) => `${label}: ${form}`);
      expect(leaks, everything.slice(0, 20_000)).toEqual([]);
    }, 120_000);
  }

  it('short secrets: a short passphrase is a job-file error, short passwords leave words intact', async () => {
    const dir = join(tmp.path, 'short');
    await mkdir(dir);
    const path = await writeJob(dir, {
      sources: [
        { id: 'data', type: 'folder', path: '/srv/floppy-data', passphrase: 'pp' },
        { id: 'other', type: 'floppy', path: '/srv/floppy' },
      ],
      destinations: [
        { id: 'disk', type: 'local', path: join(dir, 'a') },
        { id: 'disk', type: 'local', path: join(dir, 'b') },
      ],
      notifications: [{ id: 'push', type: 'ntfy', url: `${server.url}/ntfy/t`, username: 'u', password: 'e' }],
    });
    const result = await runCli(['validate', path]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('sources[0].passphrase: too short: an encryption passphrase needs at least 8 characters');
    expect(result.stderr).toContain('unknown source type "floppy"');
    expect(result.stderr).toContain('"disk" is already used');
    expect(result.stderr).not.toContain('***');
  });
});
