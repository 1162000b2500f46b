/**
 * lvm-ssh against the test sshd, with fake lvcreate/lvs/lvremove/dd/sudo on the remote PATH.
 * The fakes keep "volumes" as files under a state folder and log their argv, so the test
 * sees exactly what ran on the host.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { isBackupSnapshotOf, snapshotsToRemove } from '../../src/sources/lvm-ssh/create.js';
import { lvmSshSource } from '../../src/sources/lvm-ssh/index.js';
import type { Artifact, Source, SourceContext } from '../../src/sources/types.js';
import { describeWith, skipUnlessCi } from '../support/binaries.js';
import { startSshd, type SshdServer } from '../support/sshd.js';
import { makeTempDir } from '../support/tmp.js';
import { writeJob } from '../support/jobs.js';
import { runCli } from '../support/cli.js';

const job = { path: '/job.json', name: 'job', hostname: 'host' };
const PASSPHRASE = 'lvm-passphrase-never-remote';

function fakeScripts(bin: string, state: string, log: string): void {
  const logArgv = `{ printf '%s' "$(basename "$0")"; for a in "$@"; do printf '\\t%s' "$a"; done; echo; } >> ${log}`;
  const scripts: Record<string, string> = {
    // lvcreate -s -L SIZE -n NAME VG/LV
    lvcreate: `
${logArgv}
size=""; name=""; origin=""
while [ $# -gt 0 ]; do
  case "$1" in
    -s) ;;
    -L|-l) size="$2"; shift ;;
    -n) name="$2"; shift ;;
    *) origin="$1" ;;
  esac
  shift
done
vg="\${origin%%/*}"; lv="\${origin#*/}"
[ -f "${state}/$vg/$lv" ] || { echo "  Failed to find logical volume \\"$origin\\"" >&2; exit 5; }
[ -e "${state}/$name" ] && { echo "  Logical Volume \\"$name\\" already exists in volume group \\"$vg\\"" >&2; exit 5; }
cp "${state}/$vg/$lv" "${state}/$vg/$name"
if [ -f "${state}/fail-lvcreate" ]; then echo "  device-mapper: reload ioctl failed: Invalid argument" >&2; exit 5; fi
echo "  Logical volume \\"$name\\" created."
`,
    // lvs --noheadings -o lv_name VG
    lvs: `
${logArgv}
for a in "$@"; do vg="$a"; done
[ -d "${state}/$vg" ] || { echo "  Volume group \\"$vg\\" not found" >&2; exit 5; }
for f in "${state}/$vg"/*; do [ -f "$f" ] && echo "  $(basename "$f")"; done
exit 0
`,
    // lvremove -f VG/NAME
    lvremove: `
${logArgv}
for a in "$@"; do target="$a"; done
[ -f "${state}/$target" ] || { echo "  Failed to find logical volume \\"$target\\"" >&2; exit 5; }
[ -f "${state}/fail-lvremove" ] && { echo "  Logical volume $target contains a filesystem in use." >&2; exit 5; }
rm -f "${state}/$target"
echo "  Logical volume \\"\${target#*/}\\" successfully removed."
`,
    // dd if=/dev/VG/NAME bs=4M
    dd: `
${logArgv}
for a in "$@"; do case "$a" in if=/dev/*) dev="\${a#if=/dev/}" ;; esac; done
[ -f "${state}/$dev" ] || { echo "dd: failed to open '/dev/$dev': No such file or directory" >&2; exit 1; }
if [ -f "${state}/fail-dd" ]; then head -c 100000 "${state}/$dev"; echo "dd: error reading '/dev/$dev': Input/output error" >&2; exit 1; fi
if [ -f "${state}/slow-dd" ]; then exec cat /dev/zero; fi
cat "${state}/$dev"
echo "1+0 records in" >&2
`,
    sudo: `
${logArgv}
[ "$1" = "-n" ] && shift
exec "$@"
`,
  };
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body.trimStart()}`, { mode: 0o755 });
  }
}

function context(tmpdir: string, signal = new AbortController().signal): SourceContext {
  return { job, tmpdir, logger: silentLogger, signal };
}

describe('snapshot retention rules', () => {
  const existing = ['data', 'data-backup-20240101000000', 'data-backup-20240102000000', 'data-backup-20240103000000', 'data-backup-manual', 'other-backup-20200101000000', 'data-x-backup-20200101000000'];
  it('recognises only this volume\'s backup snapshots', () => {
    expect(existing.filter((n) => isBackupSnapshotOf('data', n))).toEqual(['data-backup-20240101000000', 'data-backup-20240102000000', 'data-backup-20240103000000']);
  });
  it('keeps the newest retain_snapshots after a good dump', () => {
    expect(snapshotsToRemove('data', existing, 'data-backup-20240103000000', true, 2)).toEqual(['data-backup-20240101000000']);
    expect(snapshotsToRemove('data', existing, 'data-backup-20240103000000', true, 0)).toEqual([
      'data-backup-20240101000000',
      'data-backup-20240102000000',
      'data-backup-20240103000000',
    ]);
  });
  it('removes only the snapshot it created after a failed dump', () => {
    expect(snapshotsToRemove('data', existing, 'data-backup-20240103000000', false, 2)).toEqual(['data-backup-20240103000000']);
    expect(snapshotsToRemove('data', existing, 'data-backup-20990101000000', false, 2)).toEqual([]);
  });
});

describeWith(['sshd', 'ssh-keygen'], 'lvm-ssh source', () => {
  let sshd: SshdServer;
  let fakes: { path: string; remove: () => Promise<void> };
  let work: { path: string; remove: () => Promise<void> };
  let state: string;
  let log: string;
  const volume = randomBytes(3 * 1024 * 1024 + 17);

  beforeAll(async () => {
    fakes = await makeTempDir('br-lvm-fakes-');
    // The password user must reach the fakes and write the log and the state.
    chmodSync(fakes.path, 0o755);
    const bin = join(fakes.path, 'bin');
    state = join(fakes.path, 'state');
    log = join(fakes.path, 'argv.log');
    mkdirSync(bin, { mode: 0o755 });
    mkdirSync(state, { mode: 0o777 });
    fakeScripts(bin, state, log);
    sshd = await startSshd({ pathPrepend: [bin], passwordUser: process.getuid?.() === 0 });
    work = await makeTempDir();
  });

  afterAll(async () => {
    await sshd?.stop();
    await fakes?.remove();
    await work?.remove();
  });

  beforeEach(() => {
    rmSync(state, { recursive: true, force: true });
    mkdirSync(join(state, 'vg0'), { recursive: true, mode: 0o777 });
    chmodSync(state, 0o777);
    chmodSync(join(state, 'vg0'), 0o777);
    writeFileSync(join(state, 'vg0/data'), volume, { mode: 0o666 });
    writeFileSync(join(state, 'vg0/data-backup-20200101000000'), 'old 1', { mode: 0o666 });
    writeFileSync(join(state, 'vg0/data-backup-20210101000000'), 'old 2', { mode: 0o666 });
    writeFileSync(join(state, 'vg0/data-backup-manual'), 'a manual snapshot', { mode: 0o666 });
    writeFileSync(join(state, 'vg0/other'), 'another volume', { mode: 0o666 });
    writeFileSync(join(state, 'vg0/other-backup-20200101000000'), 'another volume snapshot', { mode: 0o666 });
    writeFileSync(log, '', { mode: 0o666 });
    chmodSync(log, 0o666);
  });

  const volumes = () => readdirSync(join(state, 'vg0')).sort();
  const argvLog = () =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t'));

  async function makeSource(extra: Record<string, unknown> = {}): Promise<Source> {
    const options = lvmSshSource.options.parse({
      sshhost: sshd.host,
      sshport: sshd.port,
      sshuser: sshd.user,
      identity_file: sshd.identityFile,
      known_hosts: sshd.knownHostsFile,
      vg_name: 'vg0',
      lv_name: 'data',
      size: '1G',
      ...extra,
    });
    return (await lvmSshSource.create({ id: 'disk1', type: 'lvm-ssh', passphrase: PASSPHRASE, ...options } as never, { job, logger: silentLogger })) as Source;
  }

  async function runSource(source: Source, ctx = context(work.path)): Promise<{ artifact: Artifact; data: Buffer; error: unknown; cleanupError: unknown }> {
    let artifact: Artifact | undefined;
    let data = Buffer.alloc(0);
    let error: unknown;
    let cleanupError: unknown;
    try {
      for await (const a of source.open(ctx)) {
        artifact = a;
        const chunks: Buffer[] = [];
        for await (const chunk of a.stream) chunks.push(chunk as Buffer);
        data = Buffer.concat(chunks);
        await a.done;
      }
    } catch (e) {
      error = e;
    } finally {
      await source.cleanup!(ctx).catch((e: unknown) => (cleanupError = e));
    }
    return { artifact: artifact!, data, error, cleanupError };
  }

  it('snapshots, streams the snapshot image, and keeps retain_snapshots of this volume', async () => {
    const { artifact, data, error, cleanupError } = await runSource(await makeSource({ retain_snapshots: 2 }));
    expect(error).toBeUndefined();
    expect(cleanupError).toBeUndefined();
    expect(artifact.name).toBe('disk1.img');
    expect(createHash('sha256').update(data).digest('hex')).toBe(createHash('sha256').update(volume).digest('hex'));

    const calls = argvLog();
    const lvcreate = calls.find((c) => c[0] === 'lvcreate')!;
    const snapshot = lvcreate[5]!;
    expect(snapshot).toMatch(/^data-backup-\d{14}$/);
    expect(lvcreate).toEqual(['lvcreate', '-s', '-L', '1G', '-n', snapshot, 'vg0/data']);
    expect(calls.find((c) => c[0] === 'dd')).toEqual(['dd', `if=/dev/vg0/${snapshot}`, 'bs=4M']);
    expect(calls.filter((c) => c[0] === 'lvremove')).toEqual([['lvremove', '-f', 'vg0/data-backup-20200101000000']]);
    // The order matters: the old snapshot goes only after the new image was streamed.
    expect(calls.map((c) => c[0])).toEqual(['lvcreate', 'dd', 'lvs', 'lvremove']);
    expect(volumes()).toEqual(['data', 'data-backup-20210101000000', snapshot, 'data-backup-manual', 'other', 'other-backup-20200101000000'].sort());
  });

  it('removes the snapshot it created when retain_snapshots is 0 (and older backup snapshots of this volume)', async () => {
    const { error, data } = await runSource(await makeSource({ retain_snapshots: 0 }));
    expect(error).toBeUndefined();
    expect(data.equals(volume)).toBe(true);
    expect(volumes()).toEqual(['data', 'data-backup-manual', 'other', 'other-backup-20200101000000']);
  });

  it('a dump that fails after writing output rejects done and leaves no extra snapshot, pruning nothing', async () => {
    writeFileSync(join(state, 'fail-dd'), '');
    const before = volumes();
    const { error, data } = await runSource(await makeSource({ retain_snapshots: 1 }));
    expect(data.length).toBe(100000);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).message).toMatch(/dd on .* exited 1/);
    expect((error as SourceError).stderrTail).toContain('Input/output error');
    rmSync(join(state, 'fail-dd'));
    expect(volumes()).toEqual(before.filter((n) => n !== 'fail-dd'));
  });

  it('a failing lvcreate is reported with its message and leaves no snapshot behind', async () => {
    writeFileSync(join(state, 'fail-lvcreate'), '');
    const before = volumes();
    const { error } = await runSource(await makeSource({ retain_snapshots: 3 }));
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).message).toMatch(/lvcreate on .* exited 5/);
    expect((error as SourceError).stderrTail).toContain('reload ioctl failed');
    expect(argvLog().map((c) => c[0])).toEqual(['lvcreate', 'lvs', 'lvremove']);
    expect(volumes()).toEqual(before);
  });

  it('a dump abandoned before it finished (upload failed) is stopped and its snapshot removed', async () => {
    writeFileSync(join(state, 'slow-dd'), '');
    const source = await makeSource({ retain_snapshots: 5 });
    const ctx = context(work.path);
    const before = volumes();
    const iterator = source.open(ctx)[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect((first.value as Artifact).name).toBe('disk1.img');
    await iterator.return?.();
    await source.cleanup!(ctx);
    await expect((first.value as Artifact).done).rejects.toThrow(/aborted/);
    expect(volumes()).toEqual(before);
  });

  it('reports a snapshot it could not remove, naming it, as a cleanup error', async () => {
    writeFileSync(join(state, 'fail-lvremove'), '');
    const { error, cleanupError } = await runSource(await makeSource({ retain_snapshots: 0 }));
    rmSync(join(state, 'fail-lvremove'));
    expect(error).toBeUndefined();
    expect(cleanupError).toBeInstanceOf(SourceError);
    const message = (cleanupError as SourceError).message;
    expect(message).toMatch(/could not remove LVM snapshot\(s\) on .*remove them by hand/);
    expect(message).toMatch(/vg0\/data-backup-\d{14}: lvremove on .* exited 5: .*filesystem in use/);
  });

  it('uses sudo -n and the configured command names, with a percentage size', async () => {
    const bin = join(fakes.path, 'bin');
    const { error } = await runSource(
      await makeSource({ sudo: 1, size: '20%ORIGIN', lvcreate_command: join(bin, 'lvcreate'), lvs_command: join(bin, 'lvs'), lvremove_command: join(bin, 'lvremove'), dd_command: join(bin, 'dd') }),
    );
    expect(error).toBeUndefined();
    const calls = argvLog();
    expect(calls[0]).toEqual(['sudo', '-n', join(bin, 'lvcreate'), '-s', '-l', '20%ORIGIN', '-n', calls[1]![5], 'vg0/data']);
    expect(calls.filter((c) => c[0] === 'sudo').map((c) => c[2])).toEqual([join(bin, 'lvcreate'), join(bin, 'dd'), join(bin, 'lvs'), join(bin, 'lvremove'), join(bin, 'lvremove'), join(bin, 'lvremove')]);
  });

  it('check() finds the volume, and names it when missing', async () => {
    await (await makeSource()).check!(context(work.path));
    await expect((await makeSource({ lv_name: 'nope' })).check!(context(work.path))).rejects.toThrow(/logical volume vg0\/nope not found on .*lvs lists: data, /);
  });

  it('never puts the passphrase or the SSH password in a remote argv (password login)', async (ctx) => {
    if (!sshd.passwordUser) skipUnlessCi(ctx, 'a password login needs root here (useradd)');
    const user = sshd.passwordUser!;
    const source = await makeSource({ sshuser: user.name, identity_file: undefined, ssh_password: user.password, retain_snapshots: 1 });
    const { error, data } = await runSource(source);
    expect(error).toBeUndefined();
    expect(data.equals(volume)).toBe(true);
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('lvcreate');
    expect(text).not.toContain(PASSPHRASE);
    expect(text).not.toContain(user.password);
  });

  it('end to end: the runner stores the image, restore gives it back byte for byte, one snapshot kept', async () => {
    const jobPath = join(work.path, 'lvm-job.json');
    const store = join(work.path, 'store');
    await writeJob(work.path, {
        hostname: 'h',
        sources: [
          {
            id: 'disk1',
            type: 'lvm-ssh',
            sshhost: sshd.host,
            sshport: sshd.port,
            sshuser: sshd.user,
            identity_file: sshd.identityFile,
            known_hosts: sshd.knownHostsFile,
            vg_name: 'vg0',
            lv_name: 'data',
            size: '5G',
            retain_snapshots: 1,
            passphrase: PASSPHRASE,
          },
        ],
        destinations: [{ id: 'disk', type: 'local', path: store, create: 1 }],
        notifications: [],
      }, 'lvm-job.json');
    const run = await runCli(['run', jobPath]);
    expect(run.code, run.stderr).toBe(0);
    const snapshots = volumes().filter((n) => /^data-backup-\d{14}$/.test(n));
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).not.toMatch(/^data-backup-202[01]/);
    expect(readFileSync(log, 'utf8')).not.toContain(PASSPHRASE);
    const out = join(work.path, 'restored');
    const restore = await runCli(['restore', jobPath, '--source', 'disk1', '--to', out]);
    expect(restore.code, restore.stderr).toBe(0);
    expect(readFileSync(join(out, 'disk1.img')).equals(volume)).toBe(true);
  }, 120_000);

  it('end to end: a dd failing mid-way fails the run (exit 1), stores nothing and leaves no snapshot', async () => {
    writeFileSync(join(state, 'fail-dd'), '');
    const jobPath = join(work.path, 'lvm-job-fail.json');
    const store = join(work.path, 'store-fail');
    const before = volumes();
    await writeJob(work.path, {
        hostname: 'h',
        state_dir: join(work.path, 'state-fail'),
        sources: [
          { id: 'disk1', type: 'lvm-ssh', sshhost: sshd.host, sshport: sshd.port, identity_file: sshd.identityFile, known_hosts: sshd.knownHostsFile, vg_name: 'vg0', lv_name: 'data', size: '5G', retain_snapshots: 3, passphrase: PASSPHRASE },
        ],
        destinations: [{ id: 'disk', type: 'local', path: store, create: 1 }],
        notifications: [],
      }, 'lvm-job-fail.json');
    const run = await runCli(['run', jobPath]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/dd on .* exited 1/);
    rmSync(join(state, 'fail-dd'));
    expect(volumes()).toEqual(before.filter((n) => n !== 'fail-dd'));
    const stored = existsSync(store) ? readdirSync(store, { recursive: true }).map(String) : [];
    expect(stored.filter((n) => n.endsWith('.gpg'))).toEqual([]);
  }, 120_000);

  it('reports a missing remote program with a hint', async () => {
    const { error } = await runSource(await makeSource({ lvcreate_command: 'lvcreate-not-installed' }));
    expect((error as SourceError).message).toMatch(/lvcreate not found on .*remote exit 127/);
    expect(existsSync(join(state, 'vg0/data'))).toBe(true);
  });
});
