/**
 * Secrets never leave through a notification channel: every channel of this set (slack,
 * discord, matrix, telegram, uptime-kuma, healthchecks, ntfy), loaded from a job file as the
 * loader does (so their secret keys are registered), is fed a report whose errors and log
 * lines hold the passphrase and passwords. No captured request may carry them, a channel's
 * own credential appears only where its API puts it (URL path or Authorization header, never
 * a body), and error messages carry neither, even when the server echoes the request back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadJobText } from '../../src/config/load.js';
import type { Notifier } from '../../src/notifications/types.js';
import { redactor } from '../../src/secrets.js';
import { startReceiver, type Receiver, type RecordedRequest } from '../support/http-receiver.js';
import { testContext } from '../support/notifier-harness.js';
import { eventsOf, makeDestinationReport, makeRunReport, makeSourceReport, notifyOptions } from '../support/reports.js';
import { makeTempDir } from '../support/tmp.js';

const PASSPHRASE = 'Corr3ct-Horse-Battery-Staple';
const DB_PASSWORD = 'db-P4ssw0rd!x';
const SMB_PASSWORD = 'smb pass/with?odd&chars';
const PLAIN_SECRETS = [PASSPHRASE, DB_PASSWORD, SMB_PASSWORD];

/** Each channel's own credential, and where its API carries it. */
const CREDENTIALS = {
  slack: { value: 'SlackHookTokenQ7x2', where: 'path' },
  discord: { value: 'DiscordHookTokenZ9k4', where: 'path' },
  matrix: { value: 'syt_MatrixAccessTokenW3m8', where: 'authorization' },
  telegram: { value: '987654:TelegramBotTokenR5t1', where: 'path' },
  kuma: { value: 'KumaPushTokenP2q6', where: 'path' },
  hc: { value: 'a3d1c0de-7f0e-4b8e-9c1d-5e6f7a8b9c0d', where: 'path' },
  ntfy: { value: 'tk_NtfyAccessTokenN4v7', where: 'authorization' },
} as const;
type Channel = keyof typeof CREDENTIALS;

function encodings(secret: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ q: secret }).toString().slice(2),
    Buffer.from(secret).toString('base64'),
    JSON.stringify(secret).slice(1, -1),
  ];
}

function channelOf(req: RecordedRequest): Channel {
  const first = req.pathname.split('/')[1] as Channel;
  if (!(first in CREDENTIALS)) throw new Error(`request to an unexpected path: ${req.pathname}`);
  return first;
}

function jobFile(base: string, tmp: string): string {
  const c = CREDENTIALS;
  const all = { notify_on_start: 1, notify_on_success: 1, notify_on_failure: 1 };
  const notifications = [
    { id: 'slack-run', type: 'slack', url: `${base}/slack/services/T0/B0/${c.slack.value}`, ...all },
    { id: 'slack-each', type: 'slack', url: `${base}/slack/services/T0/B1/${c.slack.value}`, per_source: 1, ...all },
    { id: 'discord-run', type: 'discord', url: `${base}/discord/api/webhooks/42/${c.discord.value}`, ...all },
    { id: 'discord-each', type: 'discord', url: `${base}/discord/api/webhooks/43/${c.discord.value}`, per_source: 1, ...all },
    { id: 'matrix-run', type: 'matrix', url: `${base}/matrix`, access_token: c.matrix.value, room_id: '!room:example.org', ...all },
    { id: 'matrix-each', type: 'matrix', url: `${base}/matrix`, access_token: c.matrix.value, room_id: '!room:example.org', per_source: 1, ...all },
    { id: 'telegram-run', type: 'telegram', api_token: c.telegram.value, chat_id: '-100123', api_base: `${base}/telegram`, ...all },
    { id: 'telegram-each', type: 'telegram', api_token: c.telegram.value, chat_id: '-100123', api_base: `${base}/telegram`, per_source: 1, ...all },
    { id: 'kuma', type: 'uptime-kuma', push_url: `${base}/kuma/api/push/${c.kuma.value}?status=up&msg=OK&ping=`, ...all },
    { id: 'hc', type: 'healthchecks', url: `${base}/hc/ping/${c.hc.value}`, ...all },
    { id: 'ntfy-run', type: 'ntfy', url: `${base}/ntfy/backups-topic`, token: c.ntfy.value, ...all },
    { id: 'ntfy-each', type: 'ntfy', url: `${base}/ntfy/backups-topic`, token: c.ntfy.value, per_source: 1, ...all },
  ];
  return JSON.stringify({
    hostname: 'db1.example.org',
    tmpdir: tmp,
    state_dir: `${tmp}/state`,
    sources: [{ id: 'db', type: 'folder', path: '/srv/data', passphrase: PASSPHRASE }],
    destinations: [{ id: 'disk', type: 'local', path: `${tmp}/store` }],
    notifications,
  });
}

function leakyRun() {
  const failed = makeSourceReport({
    id: 'db',
    status: 'failure',
    error: `mysqldump --password=${DB_PASSWORD} exited 2 (passphrase ${PASSPHRASE})`,
    destinations: [makeDestinationReport({ id: 'nas', type: 'smb', status: 'failure', error: `NT_STATUS_LOGON_FAILURE for backup%${SMB_PASSWORD}`, keys: [], storedBytes: 0 })],
  });
  const warned = makeSourceReport({ id: 'etc', warnings: [`smbclient -U backup%${SMB_PASSWORD} was slow`] });
  return makeRunReport({
    status: 'failure',
    sources: [warned, failed],
    error: `gpg --passphrase ${PASSPHRASE} failed`,
    logTail: [`DEBUG connecting with ${DB_PASSWORD}`, `ERROR gpg --passphrase ${PASSPHRASE}`, `WARN smb ${SMB_PASSWORD}`],
  });
}

describe('secrets and notification channels', () => {
  let receiver: Receiver;
  let notifiers: { id: string; notifier: Notifier }[];
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ json: { ok: true } }));
    const tmp = await makeTempDir();
    cleanup = tmp.remove;
    const job = loadJobText(jobFile(receiver.url, tmp.path), { env: {} }, `${tmp.path}/nightly.json`);
    // What the pipeline registers besides the job file's own secrets: passwords met at run time.
    redactor.add(DB_PASSWORD);
    redactor.add(SMB_PASSWORD);
    notifiers = await Promise.all(job.notifications.map(async (n) => ({ id: n.options.id, notifier: await n.create(testContext) })));
    expect(notifiers).toHaveLength(12);
  });
  afterAll(async () => {
    await receiver.close();
    await cleanup();
  });

  it('the loader registered every channel credential with the redactor', () => {
    const c = CREDENTIALS;
    // Tokens given on their own are registered as they are...
    for (const value of [c.matrix.value, c.telegram.value, c.ntfy.value]) expect(redactor.redact(`x ${value} y`)).toBe('x *** y');
    // ...and URLs that carry one are registered whole.
    for (const url of [
      `${receiver.url}/slack/services/T0/B0/${c.slack.value}`,
      `${receiver.url}/discord/api/webhooks/42/${c.discord.value}`,
      `${receiver.url}/kuma/api/push/${c.kuma.value}?status=up&msg=OK&ping=`,
      `${receiver.url}/hc/ping/${c.hc.value}`,
    ]) {
      expect(redactor.redact(`see ${url}`)).toBe('see ***');
    }
    expect(redactor.redact(PASSPHRASE)).toBe('***');
  });

  it('sends no passphrase or password, and each credential only where its API carries it', async () => {
    receiver.clear();
    const run = leakyRun();
    const events = [...eventsOf(run), { kind: 'failure' as const, source: undefined, run }];
    for (const { notifier } of notifiers) {
      for (const event of events) if (notifier.wants(event)) await notifier.notify(event, notifyOptions());
    }
    const seen = new Set(receiver.requests.map(channelOf));
    expect([...seen].sort()).toEqual(Object.keys(CREDENTIALS).sort());
    expect(receiver.requests.length).toBeGreaterThan(20);

    for (const req of receiver.requests) {
      const channel = channelOf(req);
      const { authorization, ...otherHeaders } = req.headers;
      const everything = `${req.method} ${req.path} ${decodeURIComponent(req.path.replace(/\+/g, ' '))}\n${JSON.stringify(req.headers)}\n${req.text}`;
      for (const secret of PLAIN_SECRETS) {
        for (const form of encodings(secret)) expect(everything, `${channel} request ${req.path}`).not.toContain(form);
      }
      for (const [name, { value, where }] of Object.entries(CREDENTIALS)) {
        expect(req.text, `${channel} body`).not.toContain(value);
        expect(JSON.stringify(otherHeaders), `${channel} headers`).not.toContain(value);
        const own = name === channel;
        expect(decodeURIComponent(req.path).includes(value), `${channel} path`).toBe(own && where === 'path');
        expect((authorization ?? '').includes(value), `${channel} authorization`).toBe(own && where === 'authorization');
      }
    }
    // The texts were sent, with the secrets masked rather than dropped.
    const bodies = receiver.requests.filter((r) => channelOf(r) !== 'kuma').map((r) => r.text);
    expect(bodies.some((b) => b.includes('mysqldump --password=*** exited 2 (passphrase ***)'))).toBe(true);
    const kuma = receiver.requests.find((r) => channelOf(r) === 'kuma')!;
    expect(kuma.query.get('msg')).toContain('mysqldump --password=*** exited 2');
  });

  it('keeps secrets and credentials out of error messages, even when the server echoes the request', async () => {
    receiver.respond((req) => ({
      status: 500,
      body: `proxy error for ${req.method} ${req.path} headers=${JSON.stringify(req.headers)} body=${req.text.slice(0, 300)} ${PASSPHRASE} ${DB_PASSWORD}`,
    }));
    const run = leakyRun();
    const messages: string[] = [];
    for (const { id, notifier } of notifiers) {
      try {
        await notifier.notify({ kind: 'run', run }, notifyOptions());
        messages.push(`${id}: resolved`);
      } catch (error) {
        messages.push(`${id}: ${(error as Error).message}`);
      }
    }
    expect(messages).toHaveLength(12);
    for (const message of messages) {
      expect(message).toMatch(/HTTP 500/);
      for (const secret of PLAIN_SECRETS) for (const form of encodings(secret)) expect(message).not.toContain(form);
      for (const { value } of Object.values(CREDENTIALS)) expect(message).not.toContain(value);
    }
  });
});

describe('scrubUrlParts', () => {
  it('masks the tokens of a URL in a text, not the API words around them', async () => {
    const { scrubUrlParts } = await import('../../src/notifications/chat/chat.js');
    const url = 'https://kuma.example.org/api/push/Ab3dE9xYz?status=up&msg=OK&ping=';
    expect(scrubUrlParts('Cannot POST /api/push/Ab3dE9xYz from client', url)).toBe('Cannot POST /*** from client');
    expect(scrubUrlParts('monitor Ab3dE9xYz is paused', url)).toBe('monitor *** is paused');
    const tg = 'https://api.telegram.org/bot123:AAH-secret_Token/sendMessage';
    expect(scrubUrlParts('404 for /bot123:AAH-secret_Token/sendMessage', tg)).toBe('404 for /***');
    expect(scrubUrlParts('unknown sendMessage call', tg)).toBe('unknown sendMessage call');
  });
});
