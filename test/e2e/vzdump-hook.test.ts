/**
 * `backup vzdump-hook` driven exactly as Proxmox VE's vzdump drives a hook script: one process
 * per phase, arguments `PHASE [MODE VMID]`, and an environment holding nothing but vzdump's
 * variables (no PATH, no HOME). Checks the stored archives (gpg-decrypted, byte for byte), the
 * logs beside them, the per-guest reports sent once at job-end, exit statuses, retention.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { BIN, runCli } from '../support/cli.js';
import { gpgDecrypt, makeGpgHome, type GpgHome } from '../support/gpg.js';
import { startReceiver, type Receiver } from '../support/http-receiver.js';
import { makeTempDir } from '../support/tmp.js';

const PASSPHRASE = 'vzdump hook passphrase 93k1';
const TOKEN = 'kumaPushToken42';

interface HookResult {
  code: number | null;
  output: string;
}

/** One hook invocation as vzdump makes it: `script PHASE [MODE VMID]` with `local %ENV` (empty) plus its variables. */
function hook(job: string, args: readonly string[], env: Record<string, string>): Promise<HookResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'vzdump-hook', job, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const codes = (results: readonly HookResult[]) => results.map((r) => r.code);
/** The output of every invocation, for the failure message. */
const said = (results: readonly HookResult[]) => results.map((r, i) => `#${i} exit ${r.code}:\n${r.output}`).join('\n');

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(join(d, e.name).slice(dir.length + 1));
    }
  };
  await walk(dir);
  return out.sort();
}

interface Guest {
  vmid: string;
  vmtype: 'qemu' | 'lxc';
  hostname: string;
  archive: string;
  log: string;
  logText: string;
}

describeWith(['gpg', 'zstd'], 'backup vzdump-hook, driven as vzdump drives it', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let receiver: Receiver;
  let gpgHome: GpgHome;
  let dumpdir: string;
  let store: string;
  let job: string;
  const outputs: string[] = [];

  async function makeGuest(vmid: string, vmtype: 'qemu' | 'lxc', hostname: string, stamp: string): Promise<Guest> {
    const base = join(dumpdir, `vzdump-${vmtype}-${vmid}-${stamp}`);
    const archive = `${base}.${vmtype === 'qemu' ? 'vma' : 'tar'}.zst`;
    // Not real zstd data: the hook must store the archive as it is, never compress or parse it.
    await writeFile(archive, randomBytes(1_500_000 + Number(vmid)));
    const logText = `INFO: Starting Backup of VM ${vmid} (${vmtype})\nINFO: Finished Backup of VM ${vmid} (00:00:05)\n`;
    await writeFile(`${base}.log`, logText);
    return { vmid, vmtype, hostname, archive, log: `${base}.log`, logText };
  }

  /** The guest phases of stop mode, in vzdump's order, with the variables vzdump sets for them. */
  async function backupGuest(g: Guest, env: Record<string, string>, between?: (phase: string) => Promise<void>): Promise<HookResult[]> {
    const vars = { ...env, VMTYPE: g.vmtype, HOSTNAME: g.hostname, TARGET: g.archive, LOGFILE: g.log };
    const results: HookResult[] = [];
    for (const phase of ['backup-start', 'pre-stop', 'backup-end', 'pre-restart', 'post-restart', 'log-end']) {
      const result = await hook(job, [phase, 'stop', g.vmid], vars);
      outputs.push(result.output);
      results.push(result);
      await between?.(phase);
    }
    return results;
  }

  async function jobPhase(phase: string, env: Record<string, string>): Promise<HookResult> {
    const result = await hook(job, [phase], env);
    outputs.push(result.output);
    return result;
  }

  beforeAll(async () => {
    tmp = await makeTempDir('br-vzdump-');
    gpgHome = await makeGpgHome(false);
    dumpdir = join(tmp.path, 'dump');
    store = join(tmp.path, 'store');
    await mkdir(dumpdir);
    receiver = await startReceiver((req) => (req.pathname.startsWith('/api/push/') ? { json: { ok: true } } : { status: 200 }));
    job = join(tmp.path, 'pve.json');
    await writeFile(
      job,
      JSON.stringify({
        hostname: 'pve1',
        tmpdir: join(tmp.path, 'tmp'),
        state_dir: join(tmp.path, 'state'),
        sources: [{ id: 'guests', type: 'vzdump', passphrase: PASSPHRASE, vmids: [101, 102, 103, 104] }],
        destinations: [{ id: 'offsite', type: 'local', path: store, create: 1, retention_copies: 1 }],
        notifications: [
          { id: 'kuma', type: 'uptime-kuma', push_url: `${receiver.url}/api/push/${TOKEN}?status=up&msg=OK&ping=` },
          { id: 'hook', type: 'webhook', url: `${receiver.url}/hook`, events: ['success', 'failure', 'run'] },
        ],
      }),
    );
  });
  afterAll(async () => {
    await receiver?.close();
    await gpgHome?.remove();
    await tmp?.remove();
  });

  it('stores both guests of a stop-mode job, each archive and log encrypted, and reports them once at job-end', async () => {
    const jobEnv = { STOREID: 'backup-nfs', DUMPDIR: dumpdir };
    const web = await makeGuest('101', 'qemu', 'web', '2026_03_14-02_00_00');
    const ct = await makeGuest('102', 'lxc', 'dns', '2026_03_14-02_00_09');

    // job-init has no DUMPDIR unless --dumpdir is used directly.
    expect((await jobPhase('job-init', { STOREID: 'backup-nfs' })).code).toBe(0);
    expect((await jobPhase('job-start', jobEnv)).code).toBe(0);

    const first = await backupGuest(web, jobEnv);
    expect(codes(first), said(first)).toEqual([0, 0, 0, 0, 0, 0]);

    const storedAt: Record<string, string[]> = {};
    const second = await backupGuest(ct, jobEnv, async (phase) => {
      storedAt[phase] = (await filesUnder(store)).filter((f) => f.startsWith('vzdump-102/'));
    });
    expect(codes(second), said(second)).toEqual([0, 0, 0, 0, 0, 0]);
    // Storing waits for log-end (the log is complete, a stopped container runs again): one run, one manifest.
    expect(storedAt['backup-end']).toEqual([]);
    expect(storedAt['post-restart']).toEqual([]);
    expect(storedAt['log-end']).toHaveLength(3);

    // Nothing is told before job-end.
    expect(receiver.requests).toHaveLength(0);
    expect((await jobPhase('job-end', jobEnv)).code).toBe(0);

    const files = await filesUnder(store);
    const folder = (vmid: string) => files.filter((f) => f.startsWith(`vzdump-${vmid}/`));
    expect(folder('101').map((f) => f.replace(/\/\d{14}(?:-\d+)?\//, '/RUN/'))).toEqual([
      'vzdump-101/RUN/vzdump-101.log.zst.gpg',
      'vzdump-101/RUN/vzdump-101.manifest.json',
      'vzdump-101/RUN/vzdump-101.vma.zst.gpg',
    ]);
    expect(folder('102').map((f) => f.replace(/\/\d{14}(?:-\d+)?\//, '/RUN/'))).toEqual([
      'vzdump-102/RUN/vzdump-102.log.zst.gpg',
      'vzdump-102/RUN/vzdump-102.manifest.json',
      'vzdump-102/RUN/vzdump-102.tar.zst.gpg',
    ]);

    for (const g of [web, ct]) {
      const [log, manifest, archive] = folder(g.vmid).map((f) => join(store, f));
      // Archives: encrypted as they are, no second compression.
      expect((await gpgDecrypt(archive!, gpgHome, PASSPHRASE)).equals(await readFile(g.archive))).toBe(true);
      const logZst = await gpgDecrypt(log!, gpgHome, PASSPHRASE);
      expect(execFileSync('zstd', ['-d', '-c'], { input: logZst }).toString()).toBe(g.logText);
      const m = JSON.parse(await readFile(manifest!, 'utf8')) as { complete: boolean; source: { id: string; name: string }; files: { file: string }[] };
      expect(m.complete).toBe(true);
      expect(m.source).toEqual({ id: `vzdump-${g.vmid}`, type: 'vzdump', name: `${g.hostname} (${g.vmtype} ${g.vmid})` });
      expect(m.files.map((f) => f.file).sort()).toEqual([`vzdump-${g.vmid}.log.zst.gpg`, `vzdump-${g.vmid}.${g.vmtype === 'qemu' ? 'vma' : 'tar'}.zst.gpg`]);
    }

    // One Uptime Kuma push for the whole job, UP.
    const pushes = receiver.requests.filter((r) => r.pathname === `/api/push/${TOKEN}`);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]!.method).toBe('GET');
    expect(pushes[0]!.query.get('status')).toBe('up');
    expect(pushes[0]!.query.get('msg')).toMatch(/^OK: 2 sources, /);
    expect(Number(pushes[0]!.query.get('ping'))).toBeGreaterThan(0);

    // The webhook: one success per guest, then the run with both.
    const hooks = receiver.requests.filter((r) => r.pathname === '/hook').map((r) => r.json<{ event: string; source: { id: string } | null; run: { status: string; sources: { id: string; status: string }[] } }>());
    expect(hooks.map((h) => `${h.event}:${h.source?.id ?? '-'}`)).toEqual(['success:vzdump-101', 'success:vzdump-102', 'run:-']);
    expect(hooks[2]!.run.status).toBe('success');
    expect(hooks[2]!.run.sources.map((s) => [s.id, s.status])).toEqual([
      ['vzdump-101', 'success'],
      ['vzdump-102', 'success'],
    ]);

    // The run is in the history, with both guests.
    const history = (await readFile(join(tmp.path, 'state', 'history', (await readdir(join(tmp.path, 'state', 'history')))[0]!), 'utf8')).trim().split('\n');
    expect(history).toHaveLength(1);
    expect((JSON.parse(history[0]!) as { sources: { id: string }[] }).sources.map((s) => s.id)).toEqual(['vzdump-101', 'vzdump-102']);

    for (const out of outputs) expect(out).not.toContain(PASSPHRASE);
  }, 240_000);

  it('applies retention per guest, reports a failed guest at job-end (exit 1) and stays quiet at the job-abort that follows', async () => {
    receiver.clear();
    const before101 = (await filesUnder(store)).filter((f) => f.startsWith('vzdump-101/'));
    const jobEnv = { STOREID: 'backup-nfs', DUMPDIR: dumpdir };
    const web = await makeGuest('101', 'qemu', 'web', '2026_03_15-02_00_00');
    const broken = await makeGuest('103', 'qemu', 'db', '2026_03_15-02_00_30');
    broken.archive = join(dumpdir, 'vzdump-qemu-103-missing.vma.zst');
    const aborted = await makeGuest('104', 'lxc', 'mail', '2026_03_15-02_01_00');
    const ignored = await makeGuest('105', 'qemu', 'test', '2026_03_15-02_01_30');

    expect((await jobPhase('job-start', jobEnv)).code).toBe(0);
    const webRun = await backupGuest(web, jobEnv);
    expect(codes(webRun), said(webRun)).toEqual([0, 0, 0, 0, 0, 0]);
    // backup-end fails for a missing archive: vzdump marks the guest failed; restart phases never fail.
    const brokenRun = await backupGuest(broken, jobEnv);
    expect(codes(brokenRun), said(brokenRun)).toEqual([0, 0, 1, 0, 0, 0]);
    // vzdump itself failed guest 104: backup-start, pre-stop, then backup-abort and log-end.
    const vars104 = { ...jobEnv, VMTYPE: 'lxc', HOSTNAME: 'mail', TARGET: aborted.archive, LOGFILE: aborted.log };
    for (const phase of ['backup-start', 'pre-stop', 'backup-abort', 'pre-restart', 'post-restart', 'log-end']) {
      expect((await hook(job, [phase, 'stop', '104'], vars104)).code).toBe(0);
    }
    // 105 is not in the source's vmids: ignored.
    const ignoredRun = await backupGuest(ignored, jobEnv);
    expect(codes(ignoredRun), said(ignoredRun)).toEqual([0, 0, 0, 0, 0, 0]);

    const endResult = await jobPhase('job-end', jobEnv);
    expect(endResult.code).toBe(1);
    // vzdump runs job-abort after a job-end that failed: already reported, nothing sent twice.
    const requestsAfterEnd = receiver.requests.length;
    expect((await jobPhase('job-abort', jobEnv)).code).toBe(0);
    expect(receiver.requests).toHaveLength(requestsAfterEnd);

    const files = await filesUnder(store);
    const after101 = files.filter((f) => f.startsWith('vzdump-101/'));
    // retention_copies 1: the new run replaced the old one; the other guest's run is untouched.
    expect(after101).toHaveLength(3);
    expect(after101.some((f) => before101.includes(f))).toBe(false);
    expect(files.filter((f) => f.startsWith('vzdump-102/'))).toHaveLength(3);
    expect(files.some((f) => /^vzdump-10[345]\//.test(f))).toBe(false);

    const push = receiver.requests.find((r) => r.pathname === `/api/push/${TOKEN}`)!;
    expect(push.query.get('status')).toBe('down');
    expect(push.query.get('msg')).toContain('vzdump-103');
    expect(push.query.get('msg')).toContain('vzdump-104');
    const run = receiver.requests
      .filter((r) => r.pathname === '/hook')
      .map((r) => r.json<{ event: string; run: { status: string; sources: { id: string; status: string; error?: string }[] } }>())
      .find((h) => h.event === 'run')!;
    expect(run.run.status).toBe('failure');
    expect(run.run.sources.map((s) => [s.id, s.status])).toEqual([
      ['vzdump-101', 'success'],
      ['vzdump-103', 'failure'],
      ['vzdump-104', 'failure'],
    ]);
    expect(run.run.sources[1]!.error).toContain('vzdump-qemu-103-missing.vma.zst');
    expect(run.run.sources[2]!.error).toContain('backup-abort');
  }, 240_000);

  it('backup status lists every guest of the vzdump source, with its last result', async () => {
    const result = await runCli(['status', job, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const status = JSON.parse(result.stdout) as { sources: { id: string; state: string; runs: number; name?: string }[] };
    expect(status.sources.map((s) => [s.id, s.state, s.runs])).toEqual([
      ['vzdump-101', 'OK', 2],
      ['vzdump-102', 'OK', 1],
      ['vzdump-103', 'FAILED', 1],
      ['vzdump-104', 'FAILED', 1],
    ]);
    expect(status.sources[0]!.name).toBe('web (qemu 101)');
  });

  it('works through the shipped wrapper script, which keeps the harmless phases at 0 even if the command cannot start', async () => {
    const wrapper = fileURLToPath(new URL('../../deploy/proxmox/vzdump-backup-runner', import.meta.url));
    const call = (cli: string, args: string[]) =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn(wrapper, args, { env: { BACKUP_RUNNER_JOB: job, BACKUP_RUNNER_CLI: cli, STOREID: 'backup-nfs', DUMPDIR: dumpdir, VMTYPE: 'qemu', HOSTNAME: 'web' }, stdio: 'ignore' });
        child.on('error', reject);
        child.on('close', resolve);
      });
    const broken = join(tmp.path, 'no-such-backup');
    expect(await call(BIN, ['job-start'])).toBe(0);
    expect(await call(broken, ['job-start'])).toBe(0);
    expect(await call(broken, ['pre-restart', 'stop', '101'])).toBe(0);
    expect(await call(broken, ['post-restart', 'stop', '101'])).toBe(0);
    expect(await call(broken, ['backup-end', 'stop', '101'])).not.toBe(0);
    expect(await call(broken, ['--check'])).not.toBe(0);
  });

  it('never fails the phases that could harm a guest or abort the job, even with an unreadable job file', async () => {
    const missing = join(tmp.path, 'no-such-job.json');
    const env = { STOREID: 'backup-nfs', DUMPDIR: dumpdir, VMTYPE: 'qemu', HOSTNAME: 'web', TARGET: join(dumpdir, 'x.vma.zst'), LOGFILE: join(dumpdir, 'x.log') };
    const codes: Record<string, number | null> = {};
    for (const args of [['job-init'], ['job-start'], ['backup-start', 'stop', '101'], ['pre-stop', 'stop', '101'], ['pre-restart', 'stop', '101'], ['post-restart', 'stop', '101'], ['log-end', 'stop', '101'], ['job-abort'], ['some-future-phase']]) {
      codes[args[0]!] = (await hook(missing, args, env)).code;
    }
    expect(codes).toEqual({
      'job-init': 0,
      'job-start': 0,
      'backup-start': 0,
      'pre-stop': 0,
      'pre-restart': 0,
      'post-restart': 0,
      'log-end': 0,
      'job-abort': 0,
      'some-future-phase': 0,
    });
    // backup-end cannot store the guest: vzdump must mark it failed.
    const end = await hook(missing, ['backup-end', 'stop', '101'], env);
    expect(end.code).toBe(1);
    expect(end.output).toContain('no-such-job.json');
  }, 240_000);
});
