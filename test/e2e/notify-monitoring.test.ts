/**
 * End to end through the built CLI: a real `backup run` tells Uptime Kuma, Healthchecks and
 * Slack (local fakes of their documented APIs) exactly once per run, with the right outcome,
 * and a channel that fails never changes the backup's exit code.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { startReceiver, type Receiver, type RecordedRequest, type ReceiverResponse } from '../support/http-receiver.js';
import { makeTempDir } from '../support/tmp.js';

const KUMA_TOKEN = 'e2eKumaToken77';
const CHECK = '9d2c0f7e-3b1a-4c5d-8e6f-7a8b9c0d1e2f';
const SLACK = '/slack/services/T9/B9/e2eSlackSecret';
const PASSPHRASE = 'e2e-Passphrase-never-sent';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Kuma push (GET, query only, 404 for unknown tokens), Healthchecks pings, a Slack webhook. */
function services(req: RecordedRequest): ReceiverResponse {
  if (req.pathname.startsWith('/kuma/')) {
    if (req.method !== 'GET') return { status: 404, body: `Cannot ${req.method} ${req.pathname}` };
    return req.pathname === `/kuma/api/push/${KUMA_TOKEN}` ? { json: { ok: true } } : { status: 404, json: { ok: false, msg: 'Monitor not found or not active.' } };
  }
  if (req.pathname.startsWith(`/hc/ping/${CHECK}`)) {
    const rid = req.query.get('rid');
    if (rid !== null && !UUID.test(rid)) return { status: 400, body: 'invalid uuid format' };
    return ['', '/start', '/fail'].includes(req.pathname.slice(`/hc/ping/${CHECK}`.length)) ? { body: 'OK' } : { status: 400, body: 'invalid url format' };
  }
  if (req.pathname === SLACK && req.method === 'POST') return { body: 'ok' };
  return { status: 404, body: 'not found' };
}

describeWith(['tar'], 'backup run tells the monitoring channels', () => {
  let receiver: Receiver;
  let dir: { path: string; remove: () => Promise<void> };
  let data: string;

  beforeAll(async () => {
    receiver = await startReceiver(services);
    dir = await makeTempDir();
    data = join(dir.path, 'data');
    await mkdir(data);
    await writeFile(join(data, 'notes.txt'), 'backup me\n');
  });
  afterAll(async () => {
    await receiver.close();
    await dir.remove();
  });
  beforeEach(() => {
    receiver.clear();
    receiver.respond(services);
  });

  async function job(name: string, overrides: { sourcePath?: string; kumaToken?: string; destination?: Record<string, unknown> } = {}): Promise<string> {
    const path = join(dir.path, `${name}.json`);
    const text = JSON.stringify({
      hostname: 'e2e-host',
      tmpdir: dir.path,
      state_dir: join(dir.path, 'state'),
      sources: [{ id: 'docs', type: 'folder', path: overrides.sourcePath ?? data, passphrase: PASSPHRASE }],
      destinations: [overrides.destination ?? { id: 'disk', type: 'local', path: join(dir.path, 'store'), create: 1 }],
      notifications: [
        { id: 'kuma', type: 'uptime-kuma', push_url: `${receiver.url}/kuma/api/push/${overrides.kumaToken ?? KUMA_TOKEN}?status=up&msg=OK&ping=` },
        { id: 'hc', type: 'healthchecks', url: `${receiver.url}/hc/ping/${CHECK}` },
        { id: 'team', type: 'slack', url: `${receiver.url}${SLACK}`, notify_on_success: 1 },
      ],
    });
    await writeFile(path, text);
    return path;
  }

  const of = (prefix: string) => receiver.requests.filter((r) => r.pathname.startsWith(prefix));

  function expectNoPassphrase(): void {
    for (const r of receiver.requests) expect(`${r.path} ${r.text}`).not.toContain(PASSPHRASE);
  }

  it('a successful run: kuma up with the duration, healthchecks start + success, one slack message', async () => {
    const result = await runCli(['run', await job('ok')]);
    expect(result.code, result.stderr).toBe(0);
    const kuma = of('/kuma/');
    expect(kuma).toHaveLength(1);
    expect(kuma[0]!.query.get('status')).toBe('up');
    expect(kuma[0]!.query.get('msg')).toMatch(/^OK: 1 source, /);
    expect(Number(kuma[0]!.query.get('ping'))).toBeGreaterThanOrEqual(0);
    const hc = of('/hc/');
    expect(hc.map((r) => r.pathname)).toEqual([`/hc/ping/${CHECK}/start`, `/hc/ping/${CHECK}`]);
    expect(hc[0]!.query.get('rid')).toMatch(UUID);
    expect(hc[1]!.query.get('rid')).toBe(hc[0]!.query.get('rid'));
    const slack = of('/slack/');
    expect(slack).toHaveLength(1);
    expect(slack[0]!.json<{ text: string }>().text).toContain('Backup OK: e2e-host ok (1 source)');
    expectNoPassphrase();
  });

  it('a failed source: exit 1, kuma down with the error, healthchecks /fail, slack failure', async () => {
    const result = await runCli(['run', await job('broken-source', { sourcePath: join(dir.path, 'no-such-folder') })]);
    expect(result.code, result.stderr).toBe(1);
    const kuma = of('/kuma/');
    expect(kuma).toHaveLength(1);
    expect(kuma[0]!.query.get('status')).toBe('down');
    expect(kuma[0]!.query.get('msg')).toMatch(/^FAILED: docs: /);
    expect(of('/hc/').map((r) => r.pathname)).toEqual([`/hc/ping/${CHECK}/start`, `/hc/ping/${CHECK}/fail`]);
    expect(of('/slack/')).toHaveLength(1);
    expect(of('/slack/')[0]!.json<{ text: string }>().text).toContain('Backup FAILED: e2e-host broken-source');
    expectNoPassphrase();
  });

  it('a job file that does not validate: exit 2, and every channel hears about it once', async () => {
    const result = await runCli(['run', await job('bad-job', { destination: { id: 'disk', type: 'local' } })]);
    expect(result.code, result.stderr).toBe(2);
    const kuma = of('/kuma/');
    expect(kuma).toHaveLength(1);
    expect(kuma[0]!.query.get('status')).toBe('down');
    expect(kuma[0]!.query.get('msg')).toContain('destinations[0].path');
    expect(of('/hc/').map((r) => r.pathname)).toEqual([`/hc/ping/${CHECK}/fail`]);
    expect(of('/slack/')).toHaveLength(1);
    expectNoPassphrase();
  });

  it('a wrong kuma token is a warning naming the monitor, not a failed backup', async () => {
    const result = await runCli(['run', await job('wrong-token', { kumaToken: 'NotTheRightToken' })]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('kuma');
    expect(result.stderr).toContain('Monitor not found or not active.');
    expect(result.stderr).not.toContain('NotTheRightToken');
    expect(of('/kuma/')).toHaveLength(1);
    expect(of('/hc/')).toHaveLength(2);
  });
});
