/**
 * End to end through the built CLI: a real `backup run` mails (SMTP server with AUTH), pushes
 * metrics (Debian's pushgateway), indexes into Elasticsearch and calls a signed webhook (local
 * fakes of their documented APIs); a failed run shows as failed everywhere while the pushgateway
 * keeps the last success; and no secret leaves the process.
 */
import { createHmac } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { startReceiver, type Receiver, type RecordedRequest, type ReceiverResponse } from '../support/http-receiver.js';
import { PUSHGATEWAY_BINARY, startPushgateway, type Pushgateway } from '../support/pushgateway.js';
import { startSmtpServer, type SmtpServerHandle } from '../support/smtp.js';
import { makeTempDir } from '../support/tmp.js';

const PASSPHRASE = 'e2e-Report-Passphrase-5150';
const SMTP_PASSWORD = 'e2e-smtp-Pw-6631';
const ES_PASSWORD = 'e2e-es-Pw-2207';
const HMAC_SECRET = 'e2e-hmac-Secret-4410';

/** Elasticsearch _bulk (NDJSON, create → 201) and a webhook endpoint. */
function services(req: RecordedRequest): ReceiverResponse {
  if (req.pathname === '/es/_bulk' && req.method === 'POST') {
    if (req.headers.authorization !== `Basic ${Buffer.from(`backups:${ES_PASSWORD}`).toString('base64')}`) return { status: 401, json: { status: 401 } };
    const lines = req.text.split('\n').filter(Boolean);
    const items = [];
    for (let i = 0; i < lines.length; i += 2) {
      const meta = (JSON.parse(lines[i]!) as { create: { _index: string; _id: string } }).create;
      items.push({ create: { _index: meta._index, _id: meta._id, result: 'created', status: 201 } });
    }
    return { json: { took: 1, errors: false, items } };
  }
  if (req.pathname === '/hook' && req.method === 'POST') return { status: 204 };
  return { status: 404, body: 'not found' };
}

describeWith(['tar', PUSHGATEWAY_BINARY], 'backup run reports to smtp, prometheus, elasticsearch and webhook', () => {
  let receiver: Receiver;
  let smtp: SmtpServerHandle;
  let pgw: Pushgateway;
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;

  beforeAll(async () => {
    receiver = await startReceiver(services);
    smtp = await startSmtpServer({ users: { backups: SMTP_PASSWORD } });
    pgw = await startPushgateway();
    dir = await makeTempDir();
    data = join(dir.path, 'data');
    await mkdir(data);
    await writeFile(join(data, 'notes.txt'), 'backup me\n');
    await writeFile(join(dir.path, 'smtp.pw'), `${SMTP_PASSWORD}\n`, { mode: 0o600 });
  }, 30_000);
  afterAll(async () => {
    await receiver?.close();
    await smtp?.close();
    await pgw?.stop();
    await dir?.remove();
  });

  async function job(sourcePath: string): Promise<string> {
    const path = join(dir.path, 'reports.json');
    await writeFile(
      path,
      JSON.stringify({
        hostname: 'e2e-host',
        tmpdir: dir.path,
        state_dir: join(dir.path, 'state'),
        sources: [{ id: 'docs', type: 'folder', path: sourcePath, passphrase: PASSPHRASE }],
        destinations: [{ id: 'disk', type: 'local', path: join(dir.path, 'store'), create: 1, retention_copies: 5 }],
        notifications: [
          {
            id: 'mail',
            type: 'smtp',
            host: '127.0.0.1',
            port: smtp.port,
            credentials: { username: 'backups', password_file: join(dir.path, 'smtp.pw') },
            success_to: 'archive@example.org',
            failure_to: 'sysadmin@example.org',
          },
          { id: 'metrics', type: 'prometheus', url: pgw.url },
          { id: 'logging', type: 'elasticsearch', url: `${receiver.url}/es`, credentials: { username: 'backups', password: '${ES_PW}' }, indexpattern: 'backups-%Y.%m' },
          { id: 'hook', type: 'webhook', url: `${receiver.url}/hook`, hmac_secret: HMAC_SECRET },
        ],
      }),
    );
    return path;
  }

  const env = { ES_PW: ES_PASSWORD };
  const series = async (name: string) => (await pgw.samples()).find((s) => s.name === name && s.labels.job === 'reports' && s.labels.source === 'docs')?.value;

  function expectNoSecrets(): void {
    const secrets = [PASSPHRASE, SMTP_PASSWORD, ES_PASSWORD, HMAC_SECRET];
    for (const r of receiver.requests) {
      for (const s of secrets) expect(`${r.path} ${r.text}`).not.toContain(s);
    }
    for (const m of smtp.messages) {
      for (const s of secrets) expect(m.raw.toString('utf8')).not.toContain(s);
    }
  }

  it('a successful run reaches every channel once, with its numbers', async () => {
    const result = await runCli(['run', await job(data)], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/notification \S+ \(\S+\) failed/);

    const [mail] = await smtp.waitForMessages(1);
    expect(smtp.messages).toHaveLength(1);
    expect(mail!.to).toEqual(['archive@example.org']);
    expect(mail!.user).toBe('backups');
    expect(mail!.parsed.subject).toBe('Backup OK: e2e-host reports (1 source)');
    expect(mail!.parsed.text).toContain('docs (folder): OK');

    expect(await series('backup_runner_last_run_status')).toBe(1);
    const lastSuccess = await series('backup_runner_last_success_timestamp_seconds');
    expect(lastSuccess).toBeGreaterThan(Date.now() / 1000 - 300);
    expect(await series('backup_runner_stored_bytes')).toBeGreaterThan(0);

    const bulk = receiver.requests.filter((r) => r.pathname === '/es/_bulk');
    expect(bulk).toHaveLength(1);
    const [action, doc] = bulk[0]!.text.split('\n').map((l) => (l ? (JSON.parse(l) as Record<string, unknown>) : undefined));
    expect((action as { create: { _index: string } }).create._index).toMatch(/^backups-\d{4}\.\d{2}$/);
    expect(doc).toMatchObject({ status: 'success', hostname: 'e2e-host', source: { id: 'docs', type: 'folder' }, job: { name: 'reports' } });

    const hooks = receiver.requests.filter((r) => r.pathname === '/hook');
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.headers['x-backup-signature']).toBe(`sha256=${createHmac('sha256', HMAC_SECRET).update(hooks[0]!.body).digest('hex')}`);
    expect(hooks[0]!.json<{ run: { status: string } }>().run.status).toBe('success');
    expectNoSecrets();
  });

  it('a failed run shows as failed everywhere; the pushgateway keeps the last success', async () => {
    const lastSuccess = await series('backup_runner_last_success_timestamp_seconds');
    receiver.clear();
    const result = await runCli(['run', await job(join(dir.path, 'missing-folder'))], { env });
    expect(result.code).toBe(1);

    const mails = await smtp.waitForMessages(2);
    const failure = mails[1]!;
    expect(failure.to).toEqual(['sysadmin@example.org']);
    expect(failure.parsed.subject).toBe('Backup FAILED: e2e-host reports (1 source)');
    expect(failure.parsed.text).toContain('missing-folder');

    expect(await series('backup_runner_last_run_status')).toBe(0);
    expect(await series('backup_runner_last_success_timestamp_seconds')).toBe(lastSuccess);

    const doc = receiver.requests.find((r) => r.pathname === '/es/_bulk')!.text.split('\n')[1]!;
    expect(JSON.parse(doc)).toMatchObject({ status: 'failed', source: { id: 'docs' } });
    expect(receiver.requests.find((r) => r.pathname === '/hook')!.json<{ run: { status: string } }>().run.status).toBe('failure');
    expectNoSecrets();
  });

  it('a channel that fails is a warning and never changes the exit code', async () => {
    receiver.respond(() => ({ status: 503, body: 'down for maintenance' }));
    try {
      const result = await runCli(['run', await job(data)], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/notification hook \(webhook\) failed/);
      expect(result.stderr).not.toContain(HMAC_SECRET);
      expect(await series('backup_runner_last_run_status')).toBe(1);
    } finally {
      receiver.respond(services);
    }
  }, 120_000);
});
