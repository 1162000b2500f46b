/**
 * Messages an operator reads, through the built CLI: errno codes in words, each context named
 * once, BACKUP_ERROR for job hooks after a failed source, restore's wrong passphrase and
 * optional --source, the dry-run summary, history's seconds and raw sizes of folder sources,
 * and why retention kept what it kept.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, skipUnlessCi } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { writeJob } from '../support/jobs.js';
import { makeGpgHome } from '../support/gpg.js';
import { makeDataTree } from '../support/tree.js';

const PASSPHRASE = 'clear messages e2e passphrase';

/** Mounting a tmpfs needs root (or CAP_SYS_ADMIN); containers often refuse it. */
function canMount(): boolean {
  const dir = execFileSync('mktemp', ['-d']).toString().trim();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rmdir', [dir]);
  }
}

const mounting = canMount();

describeWith(['tar', 'zstd', 'gpg'], 'messages an operator reads', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let data: string;
  const mounts: string[] = [];
  beforeAll(async () => {
    ({ tmp, data } = await makeDataTree({ binaryBytes: 200_000 }));
  });
  afterAll(async () => {
    for (const m of mounts.reverse()) execFileSync('umount', [m]);
    await tmp.remove();
  });

  async function tmpfs(dir: string, size: string, readOnly: boolean): Promise<void> {
    await mkdir(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
    mounts.push(dir);
    if (readOnly) execFileSync('mount', ['-o', 'remount,ro', dir]);
  }

  it('a read-only destination is "not writable", a full one "no space left", each named once', async (ctx) => {
    if (!mounting) skipUnlessCi(ctx, 'mounting a tmpfs is not permitted here');
    const dir = join(tmp.path, 'disks');
    await tmpfs(join(dir, 'ro'), '1m', true);
    await tmpfs(join(dir, 'full'), '64k', false);
    const job = await writeJob(dir, {
      sources: [{ id: 'files', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [
        { id: 'usb', type: 'local', path: join(dir, 'ro') },
        { id: 'nas', type: 'local', path: join(dir, 'full') },
        { id: 'disk', type: 'local', path: join(dir, 'ok'), create: 1 },
      ],
    });
    const result = await runCli(['-v', job]);
    const out = result.stdout + result.stderr;
    expect(result.code, out).toBe(1);
    expect(out).toMatch(/→ usb \(local\): failure: .*not writable: read-only file system \(EROFS\)/);
    expect(out).toMatch(/→ nas \(local\): failure: .*no space left on the device \(ENOSPC\)/);
    expect(out).not.toMatch(/ENOENT|no such file/);
    for (const repeated of ['destination usb: destination usb', 'destination nas: destination nas', 'files: source files', 'source files failed: source files']) {
      expect(out).not.toContain(repeated);
    }
    expect(out).not.toMatch(/→ (usb|nas) \(local\): failure: destination (usb|nas):/);

    const dry = await runCli(['run', '--dry-run', job]);
    expect(dry.stdout).toMatch(/→ usb \(local\): FAILED the check: .*: not writable: read-only file system \(EROFS\)$/m);
    expect(dry.stdout).not.toContain('destination usb: destination usb');
  });

  it('job hooks after a failed source get its error in BACKUP_ERROR', async () => {
    const dir = join(tmp.path, 'hooks');
    await mkdir(dir);
    const job = await writeJob(dir, {
      on_error: `printf '%s|%s' "$BACKUP_STATUS" "$BACKUP_ERROR" > '${join(dir, 'job.error')}'`,
      sources: [
        { id: 'gone', type: 'folder', path: join(dir, 'missing'), passphrase: PASSPHRASE },
        { id: 'files', type: 'folder', path: data, passphrase: PASSPHRASE },
      ],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const result = await runCli([job]);
    expect(result.code, result.stderr).toBe(1);
    const [status, error] = (await readFile(join(dir, 'job.error'), 'utf8')).split('|');
    expect(status).toBe('failure');
    expect(error).toMatch(/^gone: cannot read .*missing: does not exist \(ENOENT\)$/);
  });

  it('restore: --source may be left out with one source; a wrong passphrase says so; history has seconds and raw sizes', async () => {
    const dir = join(tmp.path, 'restore');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [{ id: 'files', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1, retention_copies: 1 }],
    });
    const first = await runCli([job]);
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(['-v', job]);
    expect(second.code, second.stderr).toBe(0);
    // Why retention kept what it kept, not just how many.
    expect(second.stdout).toMatch(/→ disk \(local\): success, kept 1 run\(s\): \S.*, removed 1/);

    const restored = join(dir, 'restored');
    const r = await runCli(['restore', job, '--to', restored]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^restored files run \d{14}(?:-\d+)? from disk/m);
    const tarBytes = (await stat(join(restored, 'files.tar'))).size;

    const history = await runCli(['history', job]);
    expect(history.code, history.stderr).toBe(0);
    const row = history.stdout.split('\n').find((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +files +success/.test(l));
    expect(row, history.stdout).toBeDefined();
    expect(row).toMatch(/success +\d+\.\ds +\d+(\.\d)? KiB +\d+(\.\d)? KiB +\d\.\d\dx/);
    const rows = JSON.parse((await runCli(['history', '--json', job])).stdout) as { raw_bytes?: number; compression_ratio?: number }[];
    expect(rows.map((x) => x.raw_bytes)).toEqual([tarBytes, tarBytes]);

    const text = (await readFile(job, 'utf8')).replace(PASSPHRASE, 'not the passphrase it was stored with');
    await writeFile(job, text);
    const wrong = await runCli(['restore', job, '--to', join(dir, 'wrong')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/wrong passphrase or key/);
    expect(wrong.stderr).not.toMatch(/Session key/i);
    expect(wrong.stderr).not.toMatch(/disk: (pipeline|destination) disk:/);
  });

  it('restore of a file encrypted to a key the gpg keyring does not hold says: wrong key', async () => {
    const dir = join(tmp.path, 'gpg-key');
    await mkdir(dir);
    const owner = await makeGpgHome(true);
    const stranger = await makeGpgHome(false);
    try {
      const job = await writeJob(dir, {
        sources: [{ id: 'files', type: 'folder', path: data, recipients: [owner.publicKey!] }],
        destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
      });
      const stored = await runCli([job]);
      expect(stored.code, stored.stderr).toBe(0);
      const r = await runCli(['restore', job, '--source', 'files', '--to', join(dir, 'out')], { env: stranger.env });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('disk: decryption failed: wrong key: no secret key for this file in the gpg keyring');
    } finally {
      await owner.remove();
      await stranger.remove();
    }
  });

  it('restore without --source in a job of two sources asks for it by name', async () => {
    const dir = join(tmp.path, 'two');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [
        { id: 'a', type: 'folder', path: data, passphrase: PASSPHRASE },
        { id: 'b', type: 'folder', path: data, passphrase: PASSPHRASE },
      ],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const r = await runCli(['restore', job, '--to', join(dir, 'out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give --source: the job has 2 sources (a, b)');
  });

  it('a dry run says what it checked instead of sizes and times', async () => {
    const dir = join(tmp.path, 'dry');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [
        { id: 'files', type: 'folder', path: data, passphrase: PASSPHRASE },
        { id: 'gone', type: 'folder', path: join(dir, 'missing'), passphrase: PASSPHRASE },
      ],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    await mkdir(join(dir, 'store'));
    const dry = await runCli(['run', '--dry-run', job]);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain('nothing was dumped or stored');
    expect(dry.stdout).toMatch(/^ {2}files \(folder\) checked: reachable$/m);
    expect(dry.stdout).toMatch(/^ {4}→ disk \(local\): checked: reachable and writable$/m);
    expect(dry.stdout).toMatch(/^ {2}gone \(folder\) FAILED the check$/m);
    expect(dry.stdout).toMatch(/^ {4}→ disk \(local\): not checked \(the source failed its check first\)$/m);
    expect(dry.stdout).not.toMatch(/\b0 B\b/);
  });
});
