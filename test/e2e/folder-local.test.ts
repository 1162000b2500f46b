/**
 * End to end through the built CLI: folder source → zstd → OpenPGP → local destinations,
 * decrypted with the real gpg, restored with `backup restore`, and the failure paths.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { gpgDecrypt, gpgSymmetric, makeGpgHome, type GpgHome } from '../support/gpg.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';
import { filesUnder } from '../support/files.js';
import { lockPath } from '../../src/pipeline/lock.js';
import { describeTree, makeDataTree } from '../support/tree.js';

const PASSPHRASE = 'correct horse battery staple 7f3a';

function untar(tar: Buffer, into: string): void {
  execFileSync('tar', ['-x', '-f', '-', '-C', into], { input: tar });
}

describeWith(['gpg', 'zstd', 'tar'], 'folder → local, end to end', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let data: string;
  let gpgHome: GpgHome;

  beforeAll(async () => {
    ({ tmp, data } = await makeDataTree());
    gpgHome = await makeGpgHome(true);
  });
  afterAll(async () => {
    await gpgHome?.remove();
    await tmp?.remove();
  });

  it('stores a passphrase-encrypted backup that gpg decrypts to the identical tree, and restores it', async () => {
    const dir = join(tmp.path, 'pass');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const result = await runCli(['-v', job]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(PASSPHRASE);

    const files = await filesUnder(join(dir, 'store'));
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^data\/\d{14}(?:-\d+)?\/data\.manifest\.json$/);
    expect(files[1]).toMatch(/^data\/\d{14}(?:-\d+)?\/data\.tar\.zst\.gpg$/);

    const zst = await gpgDecrypt(join(dir, 'store', files[1]!), gpgHome, PASSPHRASE);
    const tar = execFileSync('zstd', ['-d', '-c'], { input: zst, maxBuffer: 1 << 30 });
    const byGpg = join(dir, 'by-gpg');
    await mkdir(byGpg);
    untar(tar, byGpg);
    expect(await describeTree(join(byGpg, 'data'))).toEqual(await describeTree(data));

    const restored = join(dir, 'restored');
    const r = await runCli(['restore', job, '--source', 'data', '--to', restored, '--extract']);
    expect(r.code, r.stderr).toBe(0);
    expect(await describeTree(join(restored, 'data'))).toEqual(await describeTree(data));

    const plain = join(dir, 'plain');
    const r2 = await runCli(['restore', job, '--source', 'data', '--to', plain]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(await readFile(join(plain, 'data.tar'))).toEqual(tar);

    const v = await runCli(['verify', job]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^OK +data on disk run \d{14}(?:-\d+)?/m);
  });

  it('encrypts to recipients (armored key, key file, key id from the keyring) so only the key holder decrypts', async () => {
    const dir = join(tmp.path, 'recipients');
    await mkdir(dir);
    const keyFile = join(dir, 'backup.asc');
    await writeFile(keyFile, gpgHome.publicKey!);
    for (const [name, recipient] of [
      ['inline', gpgHome.publicKey!],
      ['file', keyFile],
      ['keyid', gpgHome.fingerprint!],
    ] as const) {
      const sub = join(dir, name);
      await mkdir(sub);
      const job = await writeJob(sub, {
        sources: [{ id: 'data', type: 'folder', path: data, recipients: [recipient] }],
        destinations: [{ id: 'disk', type: 'local', path: join(sub, 'store'), create: 1 }],
      });
      const result = await runCli([job], { env: { GNUPGHOME: gpgHome.home } });
      expect(result.code, `${name}: ${result.stderr}`).toBe(0);
      const stored = (await filesUnder(join(sub, 'store'))).find((f) => f.endsWith('.gpg'))!;
      const tar = execFileSync('zstd', ['-d', '-c'], { input: await gpgDecrypt(join(sub, 'store', stored), gpgHome), maxBuffer: 1 << 30 });
      const out = join(sub, 'by-gpg');
      await mkdir(out);
      untar(tar, out);
      expect(await describeTree(join(out, 'data'))).toEqual(await describeTree(data));

      // Restore decrypts with the keyring's secret key through gpg.
      const restored = join(sub, 'restored');
      const r = await runCli(['restore', job, '--source', 'data', '--to', restored, '--extract'], { env: { GNUPGHOME: gpgHome.home } });
      expect(r.code, r.stderr).toBe(0);
      expect(await describeTree(join(restored, 'data'))).toEqual(await describeTree(data));
    }
  });

  // Node resumes (and so empties) a child's stdout that has no reader when the child exits; a
  // tiny dump finishes before openpgp.js has written the recipients' session key.
  it('a dump that ends before the recipients\' session key is ready is stored whole, run after run', async () => {
    const dir = join(tmp.path, 'tiny-recipients');
    const tiny = join(dir, 'data');
    await mkdir(tiny, { recursive: true });
    await writeFile(join(tiny, 'one.txt'), 'a file smaller than a pipe buffer\n');
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: tiny, recipients: [gpgHome.publicKey!] }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1, retention_copies: 10 }],
    });
    for (let i = 0; i < 5; i++) {
      const result = await runCli([job], { timeoutMs: 20_000 });
      expect(result.code, `run ${i}: ${result.stderr}`).toBe(0);
    }
    const stored = (await filesUnder(join(dir, 'store'))).filter((f) => f.endsWith('.gpg'));
    expect(stored).toHaveLength(5);
    for (const file of stored) {
      const tar = execFileSync('zstd', ['-d', '-c'], { input: await gpgDecrypt(join(dir, 'store', file), gpgHome) });
      const out = join(dir, `by-gpg-${stored.indexOf(file)}`);
      await mkdir(out);
      untar(tar, out);
      expect(await readFile(join(out, 'data', 'one.txt'), 'utf8')).toBe('a file smaller than a pipe buffer\n');
    }
  });

  // One encryption worker serves the files of a run in turn (encrypt-worker-pool.ts): each file
  // must get its own session key and a fresh stream, and a file abandoned mid-stream must not
  // leave its state to the next.
  it('encrypts several files in one run, one after a dump that failed mid-stream, each readable by gpg', async () => {
    const dir = join(tmp.path, 'worker-reuse');
    const small = join(dir, 'small');
    await mkdir(small, { recursive: true });
    await writeFile(join(small, 'note.txt'), 'the second tree\n');
    const fakeTar = join(dir, 'fake-tar.sh');
    await writeFile(fakeTar, '#!/bin/sh\nhead -c 6291456 /dev/urandom\necho "fake tar: disk read error" >&2\nexit 2\n');
    await chmod(fakeTar, 0o755);
    const job = await writeJob(dir, {
      sources: [
        { id: 'first', type: 'folder', path: data, passphrase: PASSPHRASE },
        { id: 'second', type: 'folder', path: small, passphrase: 'another passphrase' },
        { id: 'broken', type: 'folder', path: data, passphrase: PASSPHRASE, tar_command: fakeTar },
        { id: 'last', type: 'folder', path: data, passphrase: 'a third one' },
      ],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const result = await runCli([job]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/tar exited 2.*disk read error/);
    const stored = (await filesUnder(join(dir, 'store'))).filter((f) => f.endsWith('.gpg'));
    expect(stored.map((f) => f.split('/')[0]).sort()).toEqual(['first', 'last', 'second']);
    const passphrases: Record<string, string> = { first: PASSPHRASE, second: 'another passphrase', last: 'a third one' };
    for (const file of stored) {
      const id = file.split('/')[0]!;
      const out = join(dir, `by-gpg-${id}`);
      await mkdir(out);
      untar(execFileSync('zstd', ['-d', '-c'], { input: await gpgDecrypt(join(dir, 'store', file), gpgHome, passphrases[id]), maxBuffer: 1 << 30 }), out);
      if (id === 'second') expect(await readFile(join(out, 'small', 'note.txt'), 'utf8')).toBe('the second tree\n');
      else expect(await describeTree(join(out, 'data'))).toEqual(await describeTree(data));
    }
  });

  it('names the key id that is not in the keyring', async () => {
    const dir = join(tmp.path, 'nokey');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, recipients: ['0123456789ABCDEF0123456789ABCDEF01234567'] }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const result = await runCli([job], { env: { GNUPGHOME: gpgHome.home } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/0123456789ABCDEF0123456789ABCDEF01234567.*not in the gpg keyring/);
    expect(await filesUnder(join(dir, 'store'))).toEqual([]);
  });

  it('restores a backup written by the original tool (gpg --symmetric of a tar, no manifest)', async () => {
    const dir = join(tmp.path, 'legacy');
    await mkdir(join(dir, 'store', 'data', '20240101020000'), { recursive: true });
    const tarFile = join(dir, 'data.tar');
    execFileSync('tar', ['-C', tmp.path, '-cf', tarFile, './data']);
    await gpgSymmetric(tarFile, join(dir, 'store', 'data', '20240101020000', 'data.tar.gpg'), gpgHome, PASSPHRASE);
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store') }],
    });
    const list = await runCli(['list', job]);
    expect(list.stdout).toMatch(/^DESTINATION\s+SOURCE\s+RUN\s+STARTED \(UTC\)\s+STATE/);
    expect(list.stdout).toMatch(/disk\s+data\s+20240101020000\s+\S+\s+legacy\s+1 file/);
    const restored = join(dir, 'restored');
    const r = await runCli(['restore', job, '--source', 'data', '--to', restored, '--extract']);
    expect(r.code, r.stderr).toBe(0);
    expect(await describeTree(join(restored, 'data'))).toEqual(await describeTree(data));
    const r2 = await runCli(['restore', job, '--source', 'data', '--run', '20240101020000', '--to', join(dir, 'plain')]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(await readFile(join(dir, 'plain', 'data.tar'))).toEqual(await readFile(tarFile));
  });

  it('fails the run and stores nothing when the dumper writes 10 MB and exits 2', async () => {
    const dir = join(tmp.path, 'truncated');
    await mkdir(dir);
    const fakeTar = join(dir, 'fake-tar.sh');
    await writeFile(fakeTar, '#!/bin/sh\nhead -c 10485760 /dev/urandom\necho "fake tar: disk read error" >&2\nexit 2\n');
    await chmod(fakeTar, 0o755);
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE, tar_command: fakeTar }],
      destinations: [
        { id: 'one', type: 'local', path: join(dir, 'one'), create: 1 },
        { id: 'two', type: 'local', path: join(dir, 'two'), create: 1 },
      ],
    });
    const result = await runCli(['-v', job]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/tar exited 2.*disk read error/);
    // Nothing visible, not even a temporary file or an empty run folder's data.
    expect(await filesUnder(join(dir, 'one'))).toEqual([]);
    expect(await filesUnder(join(dir, 'two'))).toEqual([]);
  });

  it('treats tar exit 1 (file changed as we read it) as a warning, not a failure', async () => {
    const dir = join(tmp.path, 'tarwarn');
    await mkdir(dir);
    const fakeTar = join(dir, 'fake-tar.sh');
    await writeFile(fakeTar, `#!/bin/sh\ntar "$@"\necho "tar: ./data/x: file changed as we read it" >&2\nexit 1\n`);
    await chmod(fakeTar, 0o755);
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE, tar_command: fakeTar }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const result = await runCli(['-v', job]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/WARN .*file changed as we read it/);
    expect(await filesUnder(join(dir, 'store'))).toHaveLength(2);
  });

  it('warns about an empty folder (what an unmounted mount point looks like), and stores it', async () => {
    const dir = join(tmp.path, 'empty');
    const mountPoint = join(dir, 'mnt', 'data');
    await mkdir(mountPoint, { recursive: true });
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: mountPoint, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const result = await runCli(['-v', job]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`WARN  ${mountPoint} is an empty folder: the run stores no file of it (if a file system should be mounted there, it is not)`);
    const history = JSON.parse((await runCli(['history', job, '--json'])).stdout) as { status: string; warnings: string[] }[];
    expect(history.map((h) => h.status)).toEqual(['warning']);

    // One file in it, and the warning is gone.
    await writeFile(join(mountPoint, 'f'), 'x');
    const again = await runCli(['-v', job]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('empty folder');
  });

  it('stores the same bytes on three destinations from one read, and a failing one does not stop the others', async () => {
    const dir = join(tmp.path, 'fanout');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [
        { id: 'a', type: 'local', path: join(dir, 'a'), create: 1 },
        { id: 'b', type: 'local', path: join(dir, 'b'), create: 1 },
        { id: 'c', type: 'local', path: join(dir, 'c'), create: 1 },
        { id: 'unmounted', type: 'local', path: join(dir, 'not-mounted') },
      ],
    });
    const result = await runCli(['-v', job]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/destination unmounted.*does not exist/);
    const contents = await Promise.all(
      ['a', 'b', 'c'].map(async (d) => {
        const f = (await filesUnder(join(dir, d))).find((x) => x.endsWith('.gpg'))!;
        return readFile(join(dir, d, f));
      }),
    );
    expect(contents[0]!.length).toBeGreaterThan(1000);
    expect(contents[1]).toEqual(contents[0]);
    expect(contents[2]).toEqual(contents[0]);
    // One read of the source: the same ciphertext (fresh session keys would differ per read).
    const manifests = await Promise.all(['a', 'b', 'c'].map(async (d) => readFile(join(dir, d, (await filesUnder(join(dir, d))).find((x) => x.endsWith('.json'))!), 'utf8')));
    expect(new Set(manifests.map((m) => JSON.parse(m).files[0].sha256)).size).toBe(1);
  });

  it('compress_only: 1 stores gzip without encryption, as the original did', async () => {
    const dir = join(tmp.path, 'compressonly');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, compress_only: 1 }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const result = await runCli(['-v', job]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/UNENCRYPTED/);
    const file = (await filesUnder(join(dir, 'store'))).find((f) => f.endsWith('.tar.gz'))!;
    const tar = execFileSync('gzip', ['-d', '-c'], { input: await readFile(join(dir, 'store', file)), maxBuffer: 1 << 30 });
    const out = join(dir, 'out');
    await mkdir(out);
    untar(tar, out);
    expect(await describeTree(join(out, 'data'))).toEqual(await describeTree(data));
  });

  it('--dry-run checks everything and stores nothing', async () => {
    const dir = join(tmp.path, 'dry');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1, retention_copies: 2 }],
    });
    const result = await runCli(['run', '--dry-run', job]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Dry run/);
    expect(await filesUnder(join(dir, 'store'))).toEqual([]);

    const missing = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: join(dir, 'nope'), passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    }, 'missing.json');
    const bad = await runCli(['run', '--dry-run', missing]);
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toMatch(/cannot read .*nope/);
  });

  it('exits 3 when another run of the job holds the lock, and takes over a stale lock', async () => {
    const dir = join(tmp.path, 'lock');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const path = lockPath(join(dir, 'state'), { path: job, name: 'job', hostname: 'testhost' });
    await mkdir(join(dir, 'state', 'locks'), { recursive: true });
    await writeFile(path, JSON.stringify({ pid: process.pid, started: 'now' }));
    const held = await runCli(['run', job]);
    expect(held.code).toBe(3);
    expect(held.stderr).toMatch(/another run .* is in progress \(pid \d+/);
    await writeFile(path, JSON.stringify({ pid: 2 ** 22 + 12345, started: 'long ago' }));
    const stale = await runCli(['run', job]);
    expect(stale.code, stale.stderr).toBe(0);
    await expect(stat(path)).rejects.toThrow();
  });

  it('never prints the passphrase, even in debug logs and errors', async () => {
    const dir = join(tmp.path, 'secrets');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [
        { id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 },
        // The secret as part of a path makes it reach error messages.
        { id: 'bad', type: 'local', path: join(dir, PASSPHRASE) },
      ],
    });
    for (const args of [['-d', job], ['--log-format', 'json', '-d', job], ['validate', job], ['run', '--dry-run', '-d', job]]) {
      const result = await runCli(args);
      expect(result.stdout + result.stderr, args.join(' ')).not.toContain(PASSPHRASE);
      expect(result.stdout + result.stderr).not.toContain('correct horse');
    }
  });
});

describe('backup CLI basics', () => {
  it('prints help fast and exits 0', async () => {
    const started = Date.now();
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: backup/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('exits 2 on a usage error and on a bad job file, naming line and column for bad JSON', async () => {
    const dir = await makeTempDir();
    const path = join(dir.path, 'bad.json');
    await writeFile(path, '{\n  "sources": [\n    { "id": "x" "type": "folder" }\n  ]\n}\n');
    const result = await runCli([path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/bad\.json:3:\d+: expected a comma/);
    expect((await runCli(['restore'])).code).toBe(2);
    await dir.remove();
  });
});
