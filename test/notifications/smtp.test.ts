import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadJobText } from '../../src/config/load.js';
import { smtpNotification } from '../../src/notifications/smtp/index.js';
import { Redactor, redactor } from '../../src/secrets.js';
import { freePort } from '../support/pushgateway.js';
import { startSmtpServer, type SmtpServerHandle } from '../support/smtp.js';
import { buildNotifier, deliver, rejectionOf } from '../support/notifier-harness.js';
import { eventsOf, makeRunReport, makeSourceReport } from '../support/reports.js';

const USER = 'backups';
const PASSWORD = 'relay-Pw-8c1e5a';
const PASSPHRASE = 'smtp-test-passphrase-2718';

const failedRun = () =>
  makeRunReport({
    status: 'failure',
    sources: [
      makeSourceReport({ id: 'etc', type: 'folder', name: 'Live server config' }),
      makeSourceReport({ id: 'db', status: 'failure', error: `mysqldump exited 2: Lost connection (passphrase ${PASSPHRASE})` }),
    ],
    logTail: ['INFO dumping db', `DEBUG gpg --passphrase ${PASSPHRASE}`, 'ERROR mysqldump exited 2'],
  });

const signal = () => ({ signal: AbortSignal.timeout(15_000) });

describe('smtp notification', () => {
  let smtp: SmtpServerHandle;

  beforeAll(async () => {
    redactor.add(PASSWORD);
    redactor.add(PASSPHRASE);
    smtp = await startSmtpServer({ users: { [USER]: PASSWORD } });
  });
  afterAll(async () => {
    await smtp.close();
  });

  const base = () => ({
    id: 'mail',
    host: smtp.host,
    port: smtp.port,
    credentials: { username: USER, password: PASSWORD },
    use_tls: 1,
    tls_reject_unauthorized: 0,
    success_to: 'archive@example.org',
    failure_to: ['sysadmin@example.org', 'oncall@example.org'],
  });

  it('mails one failure summary per run to failure_to, over STARTTLS with AUTH, with no secret in it', async () => {
    const before = smtp.messages.length;
    const notifier = await buildNotifier(smtpNotification, base());
    // deliver() settles once the server has answered the last DATA, and the server keeps a
    // message before it answers: every mail of this run is in by now.
    await deliver(notifier, eventsOf(failedRun()));
    const mails = smtp.messages.slice(before);
    expect(mails).toHaveLength(1);

    const mail = mails[0]!;
    expect(mail.secure).toBe(true);
    expect(mail.user).toBe(USER);
    expect(mail.from).toBe('backup-runner@db1.example.org');
    expect(mail.to).toEqual(['sysadmin@example.org', 'oncall@example.org']);
    const parsed = mail.parsed;
    expect(parsed.subject).toBe('Backup FAILED: db1.example.org nightly (2 sources)');
    const to = Array.isArray(parsed.to) ? parsed.to : [parsed.to];
    expect(to.flatMap((a) => a?.value.map((v) => v.address))).toEqual(['sysadmin@example.org', 'oncall@example.org']);
    const text = parsed.text ?? '';
    expect(text).toContain('Host: db1.example.org');
    expect(text).toContain('Job: /etc/backup/nightly.json');
    expect(text).toContain('Status: FAILED');
    expect(text).toContain('etc (folder): OK');
    expect(text).toContain('db (mysql): FAILED');
    expect(text).toContain('mysqldump exited 2: Lost connection (passphrase ***)');
    expect(text).toContain('Last log lines:');
    expect(parsed.headers.get('x-backup-hostname')).toBe('db1.example.org');
    expect(parsed.headers.get('x-backup-id')).toBe('etc, db');
    expect(parsed.headers.get('x-backup-status')).toBe('failure');

    const raw = mail.raw.toString('utf8');
    expect(raw).not.toContain(PASSPHRASE);
    expect(raw).not.toContain(PASSWORD);
    expect(raw).not.toContain(Buffer.from(PASSWORD).toString('base64'));
  });

  it('mails success summaries to success_to only, and nothing when success_to is unset (the original rule)', async () => {
    const before = smtp.messages.length;
    const notifier = await buildNotifier(smtpNotification, base());
    await deliver(notifier, eventsOf(makeRunReport()));
    expect(smtp.messages.slice(before)).toHaveLength(1);
    const [mail] = smtp.messages.slice(before);
    expect(mail!.to).toEqual(['archive@example.org']);
    expect(mail!.parsed.subject).toBe('Backup OK: db1.example.org nightly (1 source)');
    expect(mail!.parsed.text).toContain('db (mysql): OK, 2.0 MiB stored in 42s');

    const { success_to: _unused, ...failureOnly } = base();
    const quiet = await buildNotifier(smtpNotification, failureOnly);
    expect(quiet.wants({ kind: 'run', run: makeRunReport() })).toBe(false);
    expect(quiet.wants({ kind: 'run', run: failedRun() })).toBe(true);
    await deliver(quiet, eventsOf(makeRunReport()));
    expect(smtp.messages.length).toBe(before + 1);
  });

  it('per_source: 1 sends the original per-source mails: successes to success_to, failures to failure_to', async () => {
    const before = smtp.messages.length;
    const notifier = await buildNotifier(smtpNotification, { ...base(), per_source: 1 });
    const [start, , run] = eventsOf(makeRunReport());
    expect(notifier.wants(run!)).toBe(false);
    expect(notifier.wants(start!)).toBe(false);
    await deliver(notifier, eventsOf(failedRun()));
    const mails = smtp.messages.slice(before);
    expect(mails).toHaveLength(2);
    const bySubject = Object.fromEntries(mails.map((m) => [m.parsed.subject, m]));
    expect(bySubject['Backup OK: db1.example.org nightly / etc']!.to).toEqual(['archive@example.org']);
    const failure = bySubject['Backup FAILED: db1.example.org nightly / db']!;
    expect(failure.to).toEqual(['sysadmin@example.org', 'oncall@example.org']);
    expect(failure.parsed.text).toContain('Error: mysqldump exited 2: Lost connection (passphrase ***)');
    expect(failure.parsed.headers.get('x-backup-id')).toBe('db');
    expect(failure.parsed.headers.get('x-backup-type')).toBe('mysql');
  });

  it('rejects a wrong password with a clear error that does not contain the password', async () => {
    const before = smtp.messages.length;
    const wrong = 'not-the-Pw-4242';
    redactor.add(wrong);
    const notifier = await buildNotifier(smtpNotification, { ...base(), credentials: { username: USER, password: wrong } });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: failedRun() }, signal()));
    expect(error.message).toContain(`SMTP server 127.0.0.1:${smtp.port} rejected the login of user "backups"`);
    expect(error.message).toContain('535');
    expect(error.message).toContain('check the username and password');
    expect(error.message).not.toContain(wrong);
    expect(error.message).not.toContain(Buffer.from(wrong).toString('base64'));
    expect(smtp.authAttempts.at(-1)).toMatchObject({ username: USER, ok: false });
    expect(smtp.messages.length).toBe(before);
  });

  it('use_tls checks the certificate by default: a self-signed server is refused with advice', async () => {
    const { tls_reject_unauthorized: _unused, ...checked } = base();
    const notifier = await buildNotifier(smtpNotification, checked);
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: failedRun() }, signal()));
    expect(error.message).toMatch(/TLS certificate of SMTP server 127\.0\.0\.1:\d+ is not trusted/);
    expect(error.message).toContain('tls_reject_unauthorized');
  });

  it('use_ssl speaks implicit TLS (SMTPS)', async () => {
    const smtps = await startSmtpServer({ users: { [USER]: PASSWORD }, secure: true });
    try {
      const { use_tls: _unused, ...rest } = base();
      const notifier = await buildNotifier(smtpNotification, { ...rest, port: smtps.port, use_ssl: 1 });
      await notifier.notify({ kind: 'run', run: failedRun() }, signal());
      const [mail] = await smtps.waitForMessages(1);
      expect(mail!.secure).toBe(true);
      expect(mail!.user).toBe(USER);
    } finally {
      await smtps.close();
    }
  });

  it('without use_tls/use_ssl: STARTTLS when offered (unchecked), plain SMTP otherwise; flat username/password work', async () => {
    const plain = await startSmtpServer({ users: { [USER]: PASSWORD }, hideStartTls: true });
    try {
      const options = { id: 'mail', host: '127.0.0.1', username: USER, password: PASSWORD, failure_to: 'ops@example.org', from: 'Backups <backups@example.org>' };
      await (await buildNotifier(smtpNotification, { ...options, port: smtp.port })).notify({ kind: 'run', run: failedRun() }, signal());
      await (await buildNotifier(smtpNotification, { ...options, port: plain.port })).notify({ kind: 'run', run: failedRun() }, signal());
      const viaStartTls = smtp.messages.at(-1)!;
      const [viaPlain] = await plain.waitForMessages(1);
      expect(viaStartTls.secure).toBe(true);
      expect(viaPlain!.secure).toBe(false);
      expect(viaPlain!.user).toBe(USER);
      expect(viaPlain!.from).toBe('backups@example.org');
      expect(viaPlain!.parsed.from?.value[0]).toMatchObject({ name: 'Backups', address: 'backups@example.org' });
    } finally {
      await plain.close();
    }
  });

  it('names the server when it cannot connect', async () => {
    const port = await freePort();
    const notifier = await buildNotifier(smtpNotification, { id: 'mail', host: '127.0.0.1', port, failure_to: 'ops@example.org' });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: failedRun() }, signal()));
    expect(error.message).toContain(`cannot talk to SMTP server 127.0.0.1:${port}`);
  });

  it('gives up when the signal aborts, even if the server never answers', async () => {
    // The signal aborts once the client is connected and waiting for a greeting that never
    // comes: the send must end with the abort's reason, not with a timeout of nodemailer's own.
    const sockets: Socket[] = [];
    const controller = new AbortController();
    const reason = new Error('the notification timeout');
    const silent: Server = createServer((socket) => {
      sockets.push(socket);
      controller.abort(reason);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const notifier = await buildNotifier(smtpNotification, { id: 'mail', host: '127.0.0.1', port: (silent.address() as AddressInfo).port, failure_to: 'ops@example.org' });
      const error = await rejectionOf(notifier.notify({ kind: 'run', run: failedRun() }, { signal: controller.signal }));
      expect(error.message).toMatch(/timed out/);
      expect(error.cause).toBe(reason);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('loads the original README example (no "type", nested credentials) and keeps the password out of reach', () => {
    const local = new Redactor();
    const job = loadJobText(
      JSON.stringify({
        sources: [{ id: 'etc', type: 'folder', path: '/etc', passphrase: 'x-passphrase' }],
        destinations: [{ id: 'disk', type: 'local', path: '/var/backups' }],
        notifications: [
          {
            host: 'smtp.mycompany.com',
            port: 587,
            credentials: { username: 'backups', password: 'relaypassword' },
            use_tls: 1,
            use_ssl: 0,
            success_to: 'archive@mycompany.com',
            failure_to: 'sysadmin@mycompany.com',
          },
        ],
      }),
      { env: {}, redactor: local },
      '/etc/backup/original.json',
    );
    expect(job.notifications).toHaveLength(1);
    expect(job.notifications[0]!.plugin.type).toBe('smtp');
    expect(job.notifications[0]!.options).toMatchObject({ use_tls: true, use_ssl: false, success_to: ['archive@mycompany.com'] });
    expect(local.redact('login relaypassword')).toBe('login ***');
  });

  it('refuses contradictory options as the loader would', async () => {
    await expect(buildNotifier(smtpNotification, { ...base(), use_ssl: 1 })).rejects.toThrow(/use either use_ssl .* or use_tls/);
    await expect(buildNotifier(smtpNotification, { ...base(), username: USER, password: PASSWORD })).rejects.toThrow(/either credentials/);
    await expect(buildNotifier(smtpNotification, { ...base(), failure_to: 'not-an-address' })).rejects.toThrow(/e-mail address/);
  });
});
