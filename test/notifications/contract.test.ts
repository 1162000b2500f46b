/**
 * The notifier contract (issue 15), written once and run for every type in the notification
 * registry, as the dispatcher uses them: loaded from a job file by the loader (so their secrets
 * are registered with the redactor), built and sent to by NotificationDispatcher, against real
 * servers on 127.0.0.1 (an HTTP receiver, an SMTP server, a temp folder).
 *
 *   success            an event the channel wants reaches the server; the outcome is ok
 *   server failure     HTTP 500 / SMTP 451: NOTIFY_ATTEMPTS attempts arrive, then a failure
 *   permanent refusal  HTTP 400/401/403/404, SMTP 5xx: exactly one attempt, then a failure
 *   never answers      the channel gives up within its timeout, the outcome says "timed out",
 *                      and (SMTP) the abandoned connection is closed
 *   no secret leaks    with a server that echoes the request (headers, URL, body) in its error,
 *                      no secret, in any encoding, is in a line the logger writes or in what
 *                      the dispatcher and the channel hand to the logger
 *
 * Retry waits are injected (a sleep that returns at once), so no case waits for a backoff.
 * CONTRACT has an entry for every registry type (a type without one fails); a case that cannot
 * apply to a channel names the reason there and is not registered as a test (a skipped test
 * would read as a missing binary, which CI does not allow).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadJobText } from '../../src/config/load.js';
import type { Logger } from '../../src/log.js';
import { HIPCHAT_RETIRED } from '../../src/notifications/hipchat/index.js';
import { notificationPlugins } from '../../src/notifications/registry.js';
import type { NotificationEvent } from '../../src/notifications/types.js';
import { NOTIFY_ATTEMPTS, NotificationDispatcher } from '../../src/pipeline/notify.js';
import type { RunReport } from '../../src/report.js';
import { encodedForms } from '../../src/secrets.js';
import { capturingLogger } from '../support/cloud-source.js';
import { waitFor } from '../support/faults.js';
import { startReceiver, type Receiver, type RecordedRequest } from '../support/http-receiver.js';
import { makeRunReport, makeSourceReport } from '../support/reports.js';
import { startSmtpServer, type SmtpReply, type SmtpServerHandle, type SmtpStep } from '../support/smtp.js';
import { makeTempDir } from '../support/tmp.js';

/**
 * timeout_seconds for "never answers". The common schema takes any positive number (no lower
 * bound); half a second is short and still lets the request reach the server first.
 */
const TIMEOUT_SECONDS = 0.5;

const PASSPHRASE = 'contract-Passphrase-5e1b9c';
const S = {
  slack: 'SlackHookTokenC7x2v9',
  discord: 'DiscordHookTokenC9k4m1',
  matrix: 'syt_MatrixTokenC3m8w2',
  telegram: '987654:TelegramBotTokenC5t1',
  kuma: 'KumaPushTokenC2q6',
  hc: 'c0a1d2e3-7f0e-4b8e-9c1d-5e6f7a8b9c0d',
  ntfy: 'ntfy-Pw "7" Basic',
  smtp: 'smtp-Pw ü 44!',
  prometheus: 'prom-Pw:with:colons 1',
  elasticsearch: 'RVNBcGlLZXlJZDpDb250cmFjdEtleQ',
  hookPath: 'HookPathTokenC5d2Lq8',
  hookQuery: 'qtok 5/8+x&y=z',
  hookBearer: 'hook-Bearer-C3e7Kd1',
  hmac: 'hmac-Secret-C8f2Aq4',
} as const;

type Case = 'success' | 'server failure' | 'permanent refusal' | 'never answers' | 'no secret leaks';
type Options = Record<string, unknown>;

interface Common {
  /** Secrets of the channel's options (the job's passphrase is checked for every channel). */
  secrets: readonly string[];
  /** Logins whose `user:password` (and its base64) must not leak either. */
  logins?: readonly [user: string, password: string][];
  /** The event sent, one the channel wants; default the summary of a failed run. */
  event?: (failed: RunReport, succeeded: RunReport) => NotificationEvent;
  /** Cases that cannot apply, and why. */
  notApplicable?: Partial<Record<Case, string>>;
}

interface HttpEntry extends Common {
  server: 'http';
  options: (base: string) => Options;
  /** Every request of an attempt goes here. */
  request: { method: string; path: RegExp };
  /** Requests one delivered attempt makes (default 1); a refusal or a hang stops at the first. */
  requestsPerAttempt?: number;
}
interface SmtpEntry extends Common {
  server: 'smtp';
  options: (at: { host: string; port: number }) => Options;
}
interface FileEntry extends Common {
  server: 'file';
  options: (path: string) => Options;
}
interface RetiredEntry {
  retired: string;
}
type Entry = HttpEntry | SmtpEntry | FileEntry | RetiredEntry;

const runSummary = (failed: RunReport): NotificationEvent => ({ kind: 'run', run: failed });
const sourceFailure = (failed: RunReport): NotificationEvent => ({ kind: 'failure', source: failed.sources[1]!, run: failed });

/** One entry per registry type: how to point it at a local server, its secrets, what cannot apply. */
const CONTRACT: Record<string, Entry> = {
  flagfile: {
    server: 'file',
    options: (path) => ({ flagfile: path }),
    secrets: [],
    event: (_failed, succeeded) => ({ kind: 'run', run: succeeded }),
    notApplicable: {
      'permanent refusal': 'no server: a file is written, nothing can refuse it for good',
      'never answers': 'no server to wait for: the write fails or succeeds at once',
      'no secret leaks': 'no secret option and no server to echo anything: it writes "OK" to a local file',
    },
  },
  slack: {
    server: 'http',
    options: (base) => ({ url: `${base}/services/T0/B0/${S.slack}` }),
    secrets: [S.slack],
    request: { method: 'POST', path: /^\/services\/T0\/B0\// },
  },
  discord: {
    server: 'http',
    options: (base) => ({ url: `${base}/api/webhooks/42/${S.discord}` }),
    secrets: [S.discord],
    request: { method: 'POST', path: /^\/api\/webhooks\/42\// },
  },
  matrix: {
    server: 'http',
    options: (base) => ({ url: base, access_token: S.matrix, room_id: '!room:example.org' }),
    secrets: [S.matrix],
    request: { method: 'PUT', path: /^\/_matrix\/client\/v3\/rooms\/[^/]+\/send\/m\.room\.message\// },
  },
  telegram: {
    server: 'http',
    options: (base) => ({ api_token: S.telegram, chat_id: '-100123', api_base: base }),
    secrets: [S.telegram],
    request: { method: 'POST', path: /\/sendMessage$/ },
  },
  'uptime-kuma': {
    server: 'http',
    options: (base) => ({ push_url: `${base}/api/push/${S.kuma}?status=up&msg=OK&ping=` }),
    secrets: [S.kuma],
    request: { method: 'GET', path: /^\/api\/push\/[^?]+\?status=down&/ },
  },
  healthchecks: {
    server: 'http',
    options: (base) => ({ url: `${base}/ping/${S.hc}` }),
    secrets: [S.hc],
    request: { method: 'POST', path: /^\/ping\/[^/]+\/fail\?rid=/ },
  },
  ntfy: {
    server: 'http',
    options: (base) => ({ url: `${base}/backups-topic`, username: 'ntfy-user', password: S.ntfy }),
    secrets: [S.ntfy],
    logins: [['ntfy-user', S.ntfy]],
    request: { method: 'POST', path: /^\/backups-topic$/ },
  },
  smtp: {
    server: 'smtp',
    options: ({ host, port }) => ({ host, port, credentials: { username: 'mailer', password: S.smtp }, failure_to: 'ops@example.org' }),
    secrets: [S.smtp],
    logins: [['mailer', S.smtp]],
  },
  prometheus: {
    server: 'http',
    options: (base) => ({ url: base, username: 'prom-user', password: S.prometheus }),
    secrets: [S.prometheus],
    logins: [['prom-user', S.prometheus]],
    request: { method: 'POST', path: /^\/metrics\/job\/nightly\/instance\/db1\.example\.org/ },
    // A push per source of the run, then the job-level one.
    requestsPerAttempt: 3,
  },
  elasticsearch: {
    server: 'http',
    options: (base) => ({ url: base, api_key: S.elasticsearch }),
    secrets: [S.elasticsearch],
    request: { method: 'POST', path: /^\/_bulk$/ },
  },
  webhook: {
    server: 'http',
    options: (base) => ({
      url: `${base}/hooks/${S.hookPath}?token=${encodeURIComponent(S.hookQuery)}`,
      headers: { Authorization: `Bearer ${S.hookBearer}` },
      hmac_secret: S.hmac,
    }),
    secrets: [S.hookPath, S.hookQuery, S.hookBearer, S.hmac],
    request: { method: 'POST', path: /^\/hooks\// },
  },
  hipchat: { retired: `${HIPCHAT_RETIRED}: the loader refuses a job file with it, so there is no notifier to send to` },
  duplistatus: {
    server: 'http',
    options: (base) => ({ url: base }),
    // No credential: the URL is a base URL and the API takes none; the job's passphrase is still checked.
    secrets: [],
    event: sourceFailure,
    request: { method: 'POST', path: /^\/api\/upload$/ },
  },
};

/** A failed run (one source fine, one failed) whose error and log lines carry the job's passphrase. */
function failedRun(): RunReport {
  return makeRunReport({
    status: 'failure',
    sources: [
      makeSourceReport({ id: 'etc', type: 'folder' }),
      makeSourceReport({ id: 'db', status: 'failure', error: `gpg --passphrase ${PASSPHRASE} failed` }),
    ],
    logTail: ['INFO dumping db', `DEBUG gpg --passphrase ${PASSPHRASE}`, 'ERROR gpg failed'],
  });
}

const succeededRun = (): RunReport => makeRunReport({ status: 'success' });

/** What the fake server does for the next send. */
type Behaviour = { kind: 'ok' } | { kind: 'fail' } | { kind: 'refuse'; code: number; at?: 'login' | 'mail' } | { kind: 'hang' } | { kind: 'echo' };

/** The permanent refusals each kind of server gives. */
const REFUSALS: Record<'http' | 'smtp', Extract<Behaviour, { kind: 'refuse' }>[]> = {
  http: [400, 401, 403, 404].map((code) => ({ kind: 'refuse', code })),
  smtp: [
    { kind: 'refuse', code: 550, at: 'mail' },
    { kind: 'refuse', code: 535, at: 'login' },
  ],
};

/** 500 with the request as the body, as a proxy's error page: request line, every header, the body. */
function echo(req: RecordedRequest): { status: number; body: string } {
  const headers = Object.entries(req.headers).map(([name, value]) => `${name}: ${String(value)}`);
  return { status: 500, body: `upstream failed for ${req.method} ${req.path} HTTP/1.1\n${headers.join('\n')}\n\n${req.text}` };
}

function httpAnswer(behaviour: Behaviour) {
  return (req: RecordedRequest) => {
    switch (behaviour.kind) {
      case 'ok':
        return { json: { ok: true } };
      case 'fail':
        return { status: 500, body: 'internal server error' };
      case 'refuse':
        return { status: behaviour.code, json: { ok: false, error: `refused with ${behaviour.code}` } };
      case 'hang':
        return new Promise<never>(() => undefined);
      case 'echo':
        return echo(req);
    }
  };
}

function smtpScript(behaviour: Behaviour) {
  return (step: SmtpStep): SmtpReply | 'hang' | undefined => {
    if (behaviour.kind === 'fail' && step.step === 'mail') return { code: 451, message: '4.3.0 mail system busy, try again later' };
    if (behaviour.kind === 'refuse' && step.step === behaviour.at) return { code: behaviour.code, message: `5.7.1 refused (${behaviour.code})` };
    if (behaviour.kind === 'hang' && step.step === 'connect') return 'hang';
    // A temporary login failure (retried) that quotes the login back, AUTH PLAIN's base64 included.
    if (behaviour.kind === 'echo' && step.step === 'login') {
      const plain = Buffer.from(`\0${step.username}\0${step.password}`).toString('base64');
      return { code: 454, message: `4.7.0 cannot check ${plain} for ${step.username}:${step.password} now` };
    }
    return undefined;
  };
}

/** Every form a secret is known to travel in (src/secrets.ts), logins as `user:password` and SMTP's AUTH PLAIN too. */
function secretForms(entry: Common): Map<string, string> {
  const forms = new Map<string, string>();
  const add = (label: string, value: string) => {
    for (const form of encodedForms(value)) forms.set(form, label);
  };
  add('passphrase', PASSPHRASE);
  for (const secret of entry.secrets) add(secret, secret);
  for (const [user, password] of entry.logins ?? []) {
    add(`${user}:password`, `${user}:${password}`);
    add(`AUTH PLAIN of ${user}`, `\0${user}\0${password}`);
  }
  return forms;
}

/**
 * What the dispatcher and the channels hand to the logger, before the logger's own redaction
 * (which would hide a leak): every call's arguments, as JSON.
 */
function handedToLogger(logger: Logger): string[] {
  const calls: string[] = [];
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) {
    const original = logger[level].bind(logger) as (...args: unknown[]) => void;
    (logger as unknown as Record<string, unknown>)[level] = (...args: unknown[]) => {
      calls.push(JSON.stringify(args, (_key, value: unknown) => (value instanceof Error ? { message: value.message, cause: String(value.cause) } : value)));
      original(...args);
    };
  }
  return calls;
}

describe('notifier contract', () => {
  let receiver: Receiver;
  let smtp: SmtpServerHandle;
  let tmp: { path: string; remove: () => Promise<void> };
  let behaviour: Behaviour = { kind: 'ok' };
  /** The waits the dispatcher asked for between attempts (none is really waited for). */
  let waits: number[] = [];

  beforeAll(async () => {
    receiver = await startReceiver((req) => httpAnswer(behaviour)(req));
    // Plain SMTP: TLS is smtp.test.ts's business, not the contract's.
    smtp = await startSmtpServer({ users: { mailer: S.smtp }, hideStartTls: true, script: (step) => smtpScript(behaviour)(step) });
    tmp = await makeTempDir('br-contract-');
    await writeFile(join(tmp.path, 'a-file'), 'not a folder');
  });
  afterAll(async () => {
    await receiver?.close();
    await smtp?.close();
    await tmp?.remove();
  });
  beforeEach(() => {
    receiver.clear();
    waits = [];
  });

  it('has an entry for every type in the registry, and none for a type it does not have', () => {
    const types = notificationPlugins.map((p) => p.type).sort();
    expect(Object.keys(CONTRACT).sort()).toEqual(types);
  });

  let flags = 0;
  /** Where a flagfile entry writes: a fresh path in the temp folder, or one under a regular file (unwritable). */
  const flagPath = (writable: boolean) => join(tmp.path, writable ? `flags-${++flags}` : 'a-file', 'nightly.ok');

  /** A job file with this one notification, loaded as the loader does (its secrets registered). */
  const jobWith = (notification: Options) =>
    loadJobText(
      JSON.stringify({
        hostname: 'db1.example.org',
        tmpdir: tmp.path,
        state_dir: join(tmp.path, 'state'),
        sources: [{ id: 'db', type: 'folder', path: '/srv/data', passphrase: PASSPHRASE }],
        destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store') }],
        notifications: [notification],
      }),
      { env: {} },
      join(tmp.path, 'nightly.json'),
    );

  /**
   * Loads a job file with this channel as the loader does (its secrets registered), sets the fake
   * server's behaviour, and builds the dispatcher with instant retry waits and captured logs.
   */
  async function dispatcherFor(type: string, entry: HttpEntry | SmtpEntry | FileEntry, next: Behaviour, extra: Options = {}) {
    behaviour = next;
    const flagfile = entry.server === 'file' ? flagPath(next.kind !== 'fail') : '';
    const target = entry.server === 'http' ? entry.options(receiver.url) : entry.server === 'smtp' ? entry.options(smtp) : entry.options(flagfile);
    const job = jobWith({ id: 'channel', type, ...target, ...extra });
    const { logger, lines } = capturingLogger();
    const handed = handedToLogger(logger);
    const smtpBefore = smtp.connections();
    const dispatcher = await NotificationDispatcher.create(job.notifications, { job: job.info, logger }, {
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 0.5,
    });
    const event = (entry.event ?? runSummary)(failedRun(), succeededRun());
    return {
      dispatcher,
      event,
      lines,
      handed,
      flagfile,
      /** Requests (HTTP) or connections (SMTP) that reached the server; a file has no server to count them. */
      reached(): number {
        if (entry.server === 'http') return receiver.requests.length;
        if (entry.server === 'smtp') return smtp.connections() - smtpBefore;
        throw new Error('a flag file has no server to count attempts');
      },
    };
  }

  for (const plugin of notificationPlugins) {
    describe(plugin.type, () => {
      const entry = CONTRACT[plugin.type];
      if (!entry) return;
      if ('retired' in entry) {
        it(`every case: not applicable (${entry.retired})`, () => {
          expect(() => jobWith({ id: 'channel', type: plugin.type })).toThrow(HIPCHAT_RETIRED);
        });
        return;
      }

      const contractCase = (name: Case, fn: () => Promise<void>, variant?: string) => {
        if (entry.notApplicable?.[name]) return;
        it(variant ? `${name}: ${variant}` : name, fn);
      };
      const failedOutcome = (d: NotificationDispatcher, event: NotificationEvent) => {
        expect(d.outcomes).toHaveLength(1);
        const [outcome] = d.outcomes;
        expect(outcome).toMatchObject({ id: 'channel', kind: event.kind, ok: false });
        return outcome!.error ?? '';
      };
      const warned = (lines: string[]) => expect(lines.filter((l) => l.includes(`WARN  notification channel (${plugin.type}) failed:`))).toHaveLength(1);

      contractCase('success', async () => {
        const { dispatcher, event, reached, flagfile } = await dispatcherFor(plugin.type, entry, { kind: 'ok' });
        const mailsBefore = smtp.messages.length;
        await dispatcher.emit(event);
        expect(dispatcher.outcomes).toEqual([{ id: 'channel', kind: event.kind, ok: true }]);
        expect(waits).toEqual([]);
        if (entry.server === 'http') {
          expect(reached()).toBe(entry.requestsPerAttempt ?? 1);
          for (const req of receiver.requests) expect(req).toMatchObject({ method: entry.request.method, path: expect.stringMatching(entry.request.path) });
        } else if (entry.server === 'smtp') {
          expect(reached()).toBe(1);
          const mails = smtp.messages.slice(mailsBefore);
          expect(mails).toHaveLength(1);
          expect(mails[0]).toMatchObject({ to: ['ops@example.org'], user: 'mailer' });
        } else {
          expect(await readFile(flagfile, 'utf8')).toBe('OK');
        }
      });

      contractCase('server failure', async () => {
        const { dispatcher, event, lines, reached } = await dispatcherFor(plugin.type, entry, { kind: 'fail' });
        await dispatcher.emit(event);
        const error = failedOutcome(dispatcher, event);
        expect(error).not.toMatch(/timed out/);
        // Retried with the dispatcher's backoff (half of 1 s, 2 s, ...: random() is 0.5), waited for at once.
        expect(waits).toEqual(Array.from({ length: NOTIFY_ATTEMPTS - 1 }, (_, i) => 500 * 2 ** i));
        if (entry.server === 'http') expect(reached()).toBe(NOTIFY_ATTEMPTS * (entry.requestsPerAttempt ?? 1));
        else if (entry.server === 'smtp') expect(reached()).toBe(NOTIFY_ATTEMPTS);
        else expect(error).toContain(join(tmp.path, 'a-file'));
        warned(lines);
      });

      const refusals = entry.server === 'file' ? [] : REFUSALS[entry.server];
      if (refusals.length === 0) {
        contractCase('permanent refusal', () => Promise.reject(new Error('no refusal to send: give the reason in notApplicable')));
      }
      for (const refusal of refusals) {
        const label = `${refusal.at === 'login' ? 'AUTH' : refusal.at === 'mail' ? 'MAIL FROM' : 'HTTP'} ${refusal.code}`;
        contractCase('permanent refusal', async () => {
          const { dispatcher, event, lines, reached } = await dispatcherFor(plugin.type, entry, refusal);
          await dispatcher.emit(event);
          expect(failedOutcome(dispatcher, event)).not.toMatch(/timed out/);
          // One attempt, and within it nothing more after the refusal (prometheus' other pushes).
          expect(waits).toEqual([]);
          expect(reached()).toBe(1);
          warned(lines);
        }, label);
      }

      contractCase('never answers', async () => {
        const { dispatcher, event, lines, reached } = await dispatcherFor(plugin.type, entry, { kind: 'hang' }, { timeout_seconds: TIMEOUT_SECONDS });
        const started = Date.now();
        await dispatcher.emit(event);
        // Only a guard against a hang: the outcome is what the case is about.
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(failedOutcome(dispatcher, event)).toBe(`timed out after ${TIMEOUT_SECONDS} s`);
        // The first attempt reached the server and waited there until the channel's deadline.
        expect(reached()).toBe(1);
        warned(lines);
        // ...and, abandoned, it left no connection behind (one would hold the process until the
        // client library's own timeouts). The wait is only a bound on seeing the close arrive.
        if (entry.server === 'smtp') await waitFor('the abandoned SMTP connection to close', () => smtp.openConnections() === 0, { timeoutMs: 3000 });
      });

      contractCase('no secret leaks', async () => {
        const { dispatcher, event, lines, handed } = await dispatcherFor(plugin.type, entry, { kind: 'echo' });
        await dispatcher.emit(event);
        failedOutcome(dispatcher, event);
        warned(lines);
        // The retries were logged too (debug), each with the server's answer.
        expect(lines.filter((l) => l.includes('attempt') && l.includes('retrying'))).toHaveLength(NOTIFY_ATTEMPTS - 1);
        const forms = secretForms(entry);
        // The echo had something to leak: the channel's credential travelled to the server.
        if (entry.server === 'http' && entry.secrets.length > 0) {
          const sent = receiver.requests.map((r) => `${r.path}\n${JSON.stringify(r.headers)}\n${r.text}`).join('\n');
          expect([...forms.keys()].some((form) => sent.includes(form))).toBe(true);
        }
        if (entry.server === 'smtp') expect(smtp.authAttempts.at(-1)).toMatchObject({ username: 'mailer', ok: false });
        for (const [what, text] of [
          ['written log line', lines],
          ['logger call', handed],
        ] as const) {
          expect(text.length).toBeGreaterThan(0);
          for (const line of text) {
            for (const [form, label] of forms) expect(line.includes(form), `${label} in a ${what}: ${line}`).toBe(false);
          }
        }
      });
    });
  }
});
