/**
 * `backup files` (the paths inside a stored tar run, streamed through read-back into tar -t) and
 * `backup restore --path` (only the matching paths), through the built CLI with real tar, zstd
 * and gpg, on runs of this tool and on a run of the original tool.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { filesUnder } from '../support/files.js';
import { gpgSymmetric, makeGpgHome, type GpgHome } from '../support/gpg.js';
import { writeJob } from '../support/jobs.js';
import { describeTree, makeDataTree } from '../support/tree.js';

const PASSPHRASE = 'correct horse battery staple 7f3a';

describeWith(['gpg', 'zstd', 'tar'], 'backup files and restore --path', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let data: string;
  let job: string;
  let stored: string;

  beforeAll(async () => {
    ({ tmp, data } = await makeDataTree());
    job = await writeJob(tmp.path, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store'), create: 1 }],
    });
    const run = await runCli([job]);
    expect(run.code, run.stderr).toBe(0);
    stored = join(tmp.path, 'store', (await filesUnder(join(tmp.path, 'store'))).find((f) => f.endsWith('.tar.zst.gpg'))!);
  });
  afterAll(async () => {
    await tmp?.remove();
  });

  it('lists every path of the newest run with type, mode, size and mtime, and says which run', async () => {
    const r = await runCli(['files', job, '--source', 'data']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^listing data run \d{14}(?:-\d+)? from disk: the newest complete run$/m);
    const lines = r.stdout.trim().split('\n');
    const byPath = new Map(lines.map((l) => [l.split(/ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /)[1]!, l]));
    expect([...byPath.keys()].sort()).toEqual(
      ['data/', 'data/empty', 'data/hello.txt', 'data/link-to-hello -> hello.txt', 'data/sub/', 'data/sub/data.bin', 'data/sub/deeper/', 'data/sub/deeper/script.sh', 'data/sub/secret.key', 'data/unicode – äöü ✓.txt'].sort(),
    );
    expect(byPath.get('data/sub/data.bin')).toMatch(/^-rw-r--r-- +\d+\/\d+ +262144 /);
    expect(byPath.get('data/hello.txt')).toMatch(/^-rw-r--r-- +\d+\/\d+ +13 /);
    expect(byPath.get('data/sub/secret.key')).toMatch(/^-rw------- /);
    expect(byPath.get('data/sub/deeper/script.sh')).toMatch(/^-rwxr-xr-x /);
    expect(byPath.get('data/')).toMatch(/^drwx/);
    expect(r.stderr).toMatch(/10 path\(s\) in data run \d{14}(?:-\d+)? on disk; every check passed/);
  });

  it('PATTERN filters with tar globs, with or without ./; one that matches nothing exits 1', async () => {
    const sub = await runCli(['files', job, 'data/sub/*']);
    expect(sub.code, sub.stderr).toBe(0);
    const paths = sub.stdout.trim().split('\n').map((l) => l.split(/Z /)[1]);
    expect(paths.sort()).toEqual(['data/sub/data.bin', 'data/sub/deeper/', 'data/sub/deeper/script.sh', 'data/sub/secret.key']);
    const dotted = await runCli(['files', job, './data/*.txt']);
    expect(dotted.code, dotted.stderr).toBe(0);
    expect(dotted.stdout.trim().split('\n').map((l) => l.split(/Z /)[1]).sort()).toEqual(['data/hello.txt', 'data/unicode – äöü ✓.txt']);
    const none = await runCli(['files', job, 'data/nothing-*']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no path in .* matches "data\/nothing-\*"/);
    expect(none.stdout).toBe('');
  });

  it('exits 1 and says the listing came from a damaged file when a stored byte is flipped', async () => {
    const dir = join(tmp.path, 'damaged');
    await mkdir(dir);
    const copy = join(dir, 'store', stored.slice(join(tmp.path, 'store').length + 1));
    execFileSync('cp', ['-a', join(tmp.path, 'store'), join(dir, 'store')]);
    const bytes = await readFile(copy);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 100) ^ 0x01, bytes.length - 100);
    await writeFile(copy, bytes);
    const damagedJob = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store') }],
    });
    const r = await runCli(['files', damagedJob]);
    expect(r.code).toBe(1);
    // Whichever check ends first names it: the sha256 of the download or OpenPGP's integrity check.
    expect(r.stderr).toMatch(/sha256 differs from the manifest|integrity check \(MDC\) does not match/);
    expect(r.stderr).not.toMatch(/every check passed/);
    if (r.stdout !== '') expect(r.stderr).toMatch(/the listing above came from a damaged file/);
  });

  it('restore --path --extract restores only the matching paths, with their content and modes', async () => {
    const to = join(tmp.path, 'partial');
    const r = await runCli(['restore', job, '--to', to, '--extract', '--path', 'data/sub/deeper', '--path', 'data/*.txt']);
    expect(r.code, r.stderr).toBe(0);
    const full = await describeTree(data);
    const restored = await describeTree(join(to, 'data'));
    expect(Object.keys(restored).sort()).toEqual(['hello.txt', 'sub', 'sub/deeper', 'sub/deeper/script.sh', 'unicode – äöü ✓.txt']);
    for (const file of ['hello.txt', 'sub/deeper/script.sh', 'unicode – äöü ✓.txt']) expect(restored[file]).toBe(full[file]);
  });

  it('restore --path that matches nothing exits 1 and writes nothing; --path without --extract is a usage error', async () => {
    const to = join(tmp.path, 'nomatch');
    const r = await runCli(['restore', job, '--to', to, '--extract', '--path', 'data/hello.txt', '--path', 'data/missing.txt']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--path "data\/missing\.txt" matched nothing in the archive: nothing was restored/);
    expect(await filesUnder(to)).toEqual([]);
    const plain = await runCli(['restore', job, '--to', join(tmp.path, 'plain'), '--path', 'data/hello.txt']);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/--path needs --extract/);
    expect(await filesUnder(join(tmp.path, 'plain'))).toEqual([]);
  });

  it('lists and partly restores a run of the original tool (gpg --symmetric of a tar, no manifest)', async () => {
    const gpgHome: GpgHome = await makeGpgHome(false);
    try {
      const dir = join(tmp.path, 'legacy');
      await mkdir(join(dir, 'store', 'data', '20240101020000'), { recursive: true });
      const tarFile = join(dir, 'data.tar');
      execFileSync('tar', ['-C', tmp.path, '-cf', tarFile, './data']);
      await gpgSymmetric(tarFile, join(dir, 'store', 'data', '20240101020000', 'data.tar.gpg'), gpgHome, PASSPHRASE);
      const legacyJob = await writeJob(dir, {
        sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
        destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store') }],
      });
      const list = await runCli(['files', legacyJob, 'data/sub/*.bin']);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stderr).toMatch(/listing data run 20240101020000 from disk: the newest whole run \(legacy/);
      expect(list.stdout).toMatch(/^-rw-r--r-- +\d+\/\d+ +262144 \S+ data\/sub\/data\.bin$/m);
      expect(list.stdout.trim().split('\n')).toHaveLength(1);

      const to = join(dir, 'restored');
      const r = await runCli(['restore', legacyJob, '--to', to, '--extract', '--path', 'data/sub/data.bin']);
      expect(r.code, r.stderr).toBe(0);
      expect(await filesUnder(to)).toEqual(['data/sub/data.bin']);
      expect(await readFile(join(to, 'data', 'sub', 'data.bin'))).toEqual(await readFile(join(data, 'sub', 'data.bin')));
    } finally {
      await gpgHome.remove();
    }
  });
});
