/**
 * The shipped Proxmox setup, as an administrator installs it: examples/proxmox-vzdump.json
 * unchanged with the files it documents (proxmox-vzdump.env, secrets/, keys/), called through
 * deploy/proxmox/vzdump-backup-runner exactly as vzdump calls a hook script: one process per
 * phase, vzdump's phase order, and an environment holding nothing but vzdump's variables
 * (`env -i`) plus BACKUP_RUNNER_JOB / BACKUP_RUNNER_CLI, the wrapper's documented switches
 * that point it at this copy. Afterwards the guests are what an admin sees and restores.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { BIN, runCli } from '../support/cli.js';
import { gpgDecrypt, makeGpgHome, type GpgHome } from '../support/gpg.js';
import { startReceiver, type Receiver } from '../support/http-receiver.js';
import { makeTempDir } from '../support/tmp.js';

const EXAMPLES = new URL('../../examples/', import.meta.url);
const WRAPPER = new URL('../../deploy/proxmox/vzdump-backup-runner', import.meta.url);
const TOKEN = 'pveKumaToken7731';

interface Call {
  args: string[];
  code: number | null;
  stderr: string;
}

interface Guest {
  vmid: string;
  vmtype: 'qemu' | 'lxc';
  hostname: string;
  mode: 'snapshot' | 'stop';
  archive: string;
  log: string;
  notes?: string;
}

describeWith(['gpg', 'zstd'], 'the shipped Proxmox example through the installed wrapper, driven as vzdump drives it', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let receiver: Receiver;
  let gpgHome: GpgHome;
  let etc: string;
  let job: string;
  let wrapper: string;
  let dumpdir: string;
  let offsite: string;
  const calls: Call[] = [];

  /** One hook call: `script PHASE [MODE VMID]` with vzdump's variables and nothing else. */
  function call(args: string[], vars: Record<string, string>): Promise<Call> {
    return new Promise((resolve, reject) => {
      const env = { BACKUP_RUNNER_JOB: job, BACKUP_RUNNER_CLI: BIN, ...vars };
      const child = spawn('/usr/bin/env', ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), wrapper, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stdout.resume();
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        const done = { args, code, stderr };
        calls.push(done);
        resolve(done);
      });
    });
  }

  const jobVars = () => ({ STOREID: 'local', DUMPDIR: dumpdir });

  /** The guest's phases in vzdump's order for its mode; `fail` makes backup-end fail as vzdump then goes on. */
  async function backupGuest(g: Guest): Promise<Record<string, number | null>> {
    // vzdump sets TARGET, LOGFILE (and the old TARFILE) in every guest phase: the names are known from the start.
    const vars = { ...jobVars(), VMTYPE: g.vmtype, HOSTNAME: g.hostname, TARGET: g.archive, TARFILE: g.archive, LOGFILE: g.log };
    const codes: Record<string, number | null> = {};
    const phase = async (name: string) => (codes[name] = (await call([name, g.mode, g.vmid], vars)).code);
    await phase('backup-start');
    await phase('pre-stop');
    if (g.mode === 'snapshot') {
      await phase('pre-restart');
      await phase('post-restart');
      await phase('backup-end');
    } else {
      await phase('backup-end');
    }
    if (codes['backup-end'] !== 0) await phase('backup-abort');
    if (g.mode === 'stop') {
      await phase('pre-restart');
      await phase('post-restart');
    }
    await phase('log-end');
    return codes;
  }

  async function makeGuest(vmid: string, vmtype: 'qemu' | 'lxc', hostname: string, mode: Guest['mode'], stamp: string, withArchive = true): Promise<Guest> {
    const base = join(dumpdir, `vzdump-${vmtype}-${vmid}-${stamp}`);
    const archive = `${base}.${vmtype === 'qemu' ? 'vma' : 'tar'}.zst`;
    const g: Guest = { vmid, vmtype, hostname, mode, archive, log: `${base}.log` };
    // Not real zstd data: the hook must store the archive as it is, never compress, unpack or parse it.
    if (withArchive) await writeFile(archive, randomBytes(700_000 + Number(vmid)));
    await writeFile(g.log, `INFO: Starting Backup of VM ${vmid} (${vmtype})\nINFO: backup mode: ${mode}\nINFO: Finished Backup of VM ${vmid}\n`);
    if (withArchive && vmtype === 'qemu') {
      g.notes = `${archive}.notes`;
      await writeFile(g.notes, `${hostname}, before the upgrade\n`);
    }
    return g;
  }

  beforeAll(async () => {
    tmp = await makeTempDir('br-pve-');
    gpgHome = await makeGpgHome(true);
    receiver = await startReceiver(() => ({ json: { ok: true } }));
    etc = join(tmp.path, 'etc', 'backup-runner');
    dumpdir = join(tmp.path, 'var', 'lib', 'vz', 'dump');
    offsite = join(tmp.path, 'mnt', 'pve', 'offsite');
    await mkdir(join(etc, 'secrets'), { recursive: true });
    await mkdir(join(etc, 'keys'));
    await mkdir(dumpdir, { recursive: true });
    await mkdir(offsite, { recursive: true });
    // The job file as shipped, byte for byte; only the files it documents are filled in.
    job = join(etc, 'pve.json');
    await copyFile(new URL('proxmox-vzdump.json', EXAMPLES), job);
    const env = (await readFile(new URL('proxmox-vzdump.env', EXAMPLES), 'utf8'))
      .replace(/^BACKUP_STATE_DIR=.*$/m, `BACKUP_STATE_DIR=${join(tmp.path, 'var', 'lib', 'backup-runner')}`)
      .replace(/^OFFSITE_DIR=.*$/m, `OFFSITE_DIR=${offsite}`)
      .replace(/^NTFY_URL=.*$/m, `NTFY_URL=${receiver.url}/pve-backups`);
    await writeFile(join(etc, 'proxmox-vzdump.env'), env, { mode: 0o600 });
    await writeFile(join(etc, 'secrets', 'kuma-push-url'), `${receiver.url}/api/push/${TOKEN}?status=up&msg=OK&ping=\n`, { mode: 0o600 });
    await copyFile(new URL('secrets/ntfy-token', EXAMPLES), join(etc, 'secrets', 'ntfy-token'));
    await writeFile(join(etc, 'keys', 'backup-team.asc'), gpgHome.publicKey!);
    // Installed as the README says: /usr/local/sbin/vzdump-backup-runner, 0755.
    wrapper = join(tmp.path, 'usr', 'local', 'sbin', 'vzdump-backup-runner');
    await mkdir(join(tmp.path, 'usr', 'local', 'sbin'), { recursive: true });
    await copyFile(WRAPPER, wrapper);
    await chmod(wrapper, 0o755);
  }, 60_000);
  afterAll(async () => {
    await receiver?.close();
    await gpgHome?.remove();
    await tmp?.remove();
  });

  it('--check passes for the example with its files, and fails when the hook would store nothing', async () => {
    const ok = await call(['--check'], {});
    expect(ok.code, ok.stderr).toBe(0);

    const noVzdump = join(etc, 'no-vzdump.json');
    await writeFile(noVzdump, JSON.stringify({ sources: [{ id: 'etc', type: 'folder', path: '/etc', encryption: 'none' }], destinations: [{ id: 'd', type: 'local', path: offsite }] }));
    const none = await call(['--check'], { BACKUP_RUNNER_JOB: noVzdump });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('has no source of type "vzdump"');
    // The phases vzdump runs keep 0 (a non-zero job-start aborts the whole vzdump job) but say why in the task log.
    const start = await call(['job-start'], { ...jobVars(), BACKUP_RUNNER_JOB: noVzdump });
    expect(start.code).toBe(0);
    expect(start.stderr).toContain('has no source of type "vzdump"');

    const broken = await call(['--check'], { BACKUP_RUNNER_JOB: join(etc, 'missing.json') });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('missing.json');

    // An unmounted share: the destination folder is not there.
    const unmounted = join(etc, 'unmounted.json');
    const text = (await readFile(job, 'utf8')).replace('"env_file": "proxmox-vzdump.env"', '"env_file": "unmounted.env"');
    await writeFile(unmounted, text);
    await writeFile(join(etc, 'unmounted.env'), (await readFile(join(etc, 'proxmox-vzdump.env'), 'utf8')).replace(/^OFFSITE_DIR=.*$/m, `OFFSITE_DIR=${join(tmp.path, 'not-mounted')}`), { mode: 0o600 });
    const down = await call(['--check'], { BACKUP_RUNNER_JOB: unmounted });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('destination offsite');
  }, 120_000);

  it('stores each guest of a three-guest job, reports the failed one once, and gives every guest back as vzdump wrote it', async () => {
    const web = await makeGuest('100', 'qemu', 'web', 'snapshot', '2026_11_29-01_00_00');
    const dns = await makeGuest('101', 'lxc', 'dns', 'stop', '2026_11_29-01_00_07');
    const db = await makeGuest('102', 'qemu', 'db', 'snapshot', '2026_11_29-01_00_31', false);

    expect((await call(['job-init'], { STOREID: 'local' })).code).toBe(0);
    expect((await call(['job-start'], jobVars())).code).toBe(0);
    expect(await backupGuest(web)).toEqual({ 'backup-start': 0, 'pre-stop': 0, 'pre-restart': 0, 'post-restart': 0, 'backup-end': 0, 'log-end': 0 });
    expect(await backupGuest(dns)).toEqual({ 'backup-start': 0, 'pre-stop': 0, 'backup-end': 0, 'pre-restart': 0, 'post-restart': 0, 'log-end': 0 });
    // The missing archive fails backup-end: vzdump marks the guest failed and goes on (backup-abort, log-end).
    expect(await backupGuest(db)).toEqual({ 'backup-start': 0, 'pre-stop': 0, 'pre-restart': 0, 'post-restart': 0, 'backup-end': 1, 'backup-abort': 0, 'log-end': 0 });
    const dbEnd = calls.find((c) => c.args[0] === 'backup-end' && c.args[2] === '102')!;
    expect(dbEnd.stderr).toContain(db.archive);
    expect(receiver.requests).toHaveLength(0);

    // job-end fails the job (a guest failed); vzdump then runs job-abort, which must not report again.
    const end = await call(['job-end'], jobVars());
    expect(end.code, end.stderr).toBe(1);
    expect((await call(['job-abort'], jobVars())).code).toBe(0);

    // The failed guest reaches the notifications once; Uptime Kuma ("on_failure": "skip") gets nothing.
    const ntfy = receiver.requests.filter((r) => r.pathname === '/pve-backups');
    expect(ntfy).toHaveLength(1);
    expect(ntfy[0]!.text).toContain('vzdump-102');
    expect(ntfy[0]!.headers.authorization).toBe('Bearer tk_REPLACE-ME-ntfy-access-token');
    expect(receiver.requests.filter((r) => r.pathname.startsWith('/api/push/'))).toHaveLength(0);

    // Each archive decrypts with gpg (the team's key) to the very file vzdump wrote.
    for (const [g, ext] of [[web, 'vma.zst'], [dns, 'tar.zst']] as const) {
      const folder = join(offsite, `vzdump-${g.vmid}`);
      const [run] = await readdir(folder);
      const stored = (await readdir(join(folder, run!))).sort();
      expect(stored).toEqual(
        g.notes
          ? [`vzdump-${g.vmid}.log.zst.gpg`, `vzdump-${g.vmid}.manifest.json`, `vzdump-${g.vmid}.notes.zst.gpg`, `vzdump-${g.vmid}.${ext}.gpg`]
          : [`vzdump-${g.vmid}.log.zst.gpg`, `vzdump-${g.vmid}.manifest.json`, `vzdump-${g.vmid}.${ext}.gpg`],
      );
      expect((await gpgDecrypt(join(folder, run!, `vzdump-${g.vmid}.${ext}.gpg`), gpgHome)).equals(await readFile(g.archive))).toBe(true);
    }
    expect(await readdir(offsite)).toEqual(['vzdump-100', 'vzdump-101']);

    const gpgEnv = { GNUPGHOME: gpgHome.home };
    // list: every guest, also alone.
    const list = await runCli(['list', job, '--json'], { env: gpgEnv });
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as { source: string; state: string; files: number }[];
    expect(rows.map((r) => [r.source, r.state, r.files])).toEqual([
      ['vzdump-100', 'complete', 3],
      ['vzdump-101', 'complete', 2],
    ]);
    const one = await runCli(['list', job, '--source', 'vzdump-101'], { env: gpgEnv });
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/offsite\s+vzdump-101\s+\d{14}(?:-\d+)?\s+\S+\s+complete/);
    expect(one.stdout).not.toContain('vzdump-100');

    // verify: each stored guest, decrypted with the system gpg and its keyring.
    const verify = await runCli(['verify', job], { env: gpgEnv });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^OK\s+vzdump-100 on offsite/m);
    expect(verify.stdout).toMatch(/^OK\s+vzdump-101 on offsite/m);

    // status: each guest with its last success; 102 (its only run failed) and 200 (in vmids, never backed up) are overdue.
    const status = await runCli(['status', job, '--json'], { env: gpgEnv });
    expect(status.code).toBe(1);
    const sources = (JSON.parse(status.stdout) as { sources: { id: string; state: string; last_success?: unknown }[] }).sources;
    expect(sources.map((s) => [s.id, s.state])).toEqual([
      ['vzdump-100', 'OK'],
      ['vzdump-101', 'OK'],
      ['vzdump-102', 'OVERDUE'],
      ['vzdump-200', 'OVERDUE'],
    ]);
    expect(sources[0]!.last_success).toBeTruthy();
    expect(sources[2]!.last_success).toBeFalsy();
    expect(JSON.stringify(sources[2])).toContain('failure');

    // restore into a Proxmox dump folder: the archive byte for byte under vzdump's name, its log and notes beside it.
    const restored = join(tmp.path, 'restore-dump');
    for (const g of [web, dns]) {
      const r = await runCli(['restore', job, '--source', `vzdump-${g.vmid}`, '--to', restored], { env: gpgEnv });
      expect(r.code, r.stderr).toBe(0);
    }
    const names = (await readdir(restored)).sort();
    expect(names).toEqual(
      [web.archive, web.log, web.notes!, dns.archive, dns.log].map((p) => p.slice(dumpdir.length + 1)).sort(),
    );
    for (const p of [web.archive, web.log, web.notes!, dns.archive, dns.log]) {
      expect((await readFile(join(restored, p.slice(dumpdir.length + 1)))).equals(await readFile(p))).toBe(true);
    }
  }, 300_000);

  it('pushes Uptime Kuma once, up, when every guest of the vzdump job was stored', async () => {
    receiver.clear();
    const web = await makeGuest('100', 'qemu', 'web', 'snapshot', '2026_11_30-01_00_00');
    const dns = await makeGuest('101', 'lxc', 'dns', 'stop', '2026_11_30-01_00_07');
    expect((await call(['job-init'], { STOREID: 'local' })).code).toBe(0);
    expect((await call(['job-start'], jobVars())).code).toBe(0);
    expect(Object.values(await backupGuest(web)).every((c) => c === 0)).toBe(true);
    expect(Object.values(await backupGuest(dns)).every((c) => c === 0)).toBe(true);
    const end = await call(['job-end'], jobVars());
    expect(end.code, end.stderr).toBe(0);
    const pushes = receiver.requests.filter((r) => r.pathname === `/api/push/${TOKEN}`);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]!.query.get('status')).toBe('up');
    // ntfy sends failures only.
    expect(receiver.requests.filter((r) => r.pathname === '/pve-backups')).toHaveLength(0);
    for (const c of calls) expect(c.stderr).not.toContain(TOKEN);
  }, 300_000);
});
