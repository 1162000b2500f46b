/**
 * `backup verify --all` (every whole run, not only the newest) and `--spot N` (random files of
 * the newest folder run against the live folder), through the built CLI with real tar, zstd.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { filesUnder } from '../support/files.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';
import { makeTree } from '../support/tree.js';

const PASSPHRASE = 'correct horse battery staple 7f3a';

async function flipByte(path: string): Promise<void> {
  const bytes = await readFile(path);
  const at = Math.floor(bytes.length / 2);
  bytes.writeUInt8(bytes.readUInt8(at) ^ 0x01, at);
  await writeFile(path, bytes);
}

describeWith(['gpg', 'zstd', 'tar'], 'verify --all and --spot', () => {
  let tmp: { path: string; remove: () => Promise<void> };

  beforeAll(async () => {
    tmp = await makeTempDir();
  });
  afterAll(async () => {
    await tmp?.remove();
  });

  it('--all checks every whole run and fails when an older run is damaged; verify alone checks only the newest', async () => {
    const dir = join(tmp.path, 'all');
    const data = join(dir, 'data');
    await mkdir(data, { recursive: true });
    await makeTree(data);
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [
        { id: 'one', type: 'local', path: join(dir, 'one'), create: 1 },
        { id: 'two', type: 'local', path: join(dir, 'two'), create: 1 },
      ],
    });
    for (let i = 0; i < 2; i++) {
      const r = await runCli([job]);
      expect(r.code, r.stderr).toBe(0);
    }
    // Run keys in time order: two runs in the same second are X and X-2.
    const order = (f: string) => f.split('/')[1]!.replace(/^(\d{14})(?:-(\d+))?$/, (_m, t: string, n?: string) => `${t}${(n ?? '1').padStart(4, '0')}`);
    const stored = (await filesUnder(join(dir, 'one'))).filter((f) => f.endsWith('.gpg')).sort((a, b) => order(a).localeCompare(order(b)));
    expect(stored).toHaveLength(2);
    const [older, newer] = stored.map((f) => f.split('/')[1]!);

    const all = await runCli(['verify', job, '--all']);
    expect(all.code, all.stdout + all.stderr).toBe(0);
    for (const d of ['one', 'two']) for (const run of [older, newer]) expect(all.stdout).toMatch(new RegExp(`^OK +data on ${d} run ${run}$`, 'm'));

    await flipByte(join(dir, 'one', stored[0]!));
    const newest = await runCli(['verify', job]);
    expect(newest.code, newest.stdout).toBe(0);
    expect(newest.stdout).not.toMatch(new RegExp(`run ${older}(?!-)\\b`));

    const damaged = await runCli(['verify', job, '--all']);
    expect(damaged.code, damaged.stdout + damaged.stderr).toBe(1);
    expect(damaged.stdout).toMatch(new RegExp(`^FAILED data on one run ${older}$`, 'm'));
    expect(damaged.stdout).toMatch(/BAD data\.tar\.zst\.gpg .*(sha256 differs from the manifest|integrity check \(MDC\) does not match|tar exited|zstd)/);
    expect(damaged.stdout).toMatch(new RegExp(`^OK +data on one run ${newer}$`, 'm'));
    expect(damaged.stdout).toMatch(new RegExp(`^OK +data on two run ${older}$`, 'm'));

    expect((await runCli(['verify', job, '--all', '--run', newer!])).code).toBe(2);
  });

  it('--spot passes on an unchanged tree, reports what differs, vanished or is new, and fails above the tolerance', async () => {
    const dir = join(tmp.path, 'spot');
    const data = join(dir, 'data');
    await mkdir(data, { recursive: true });
    await makeTree(data);
    // 6 regular files from makeTree and 14 more: 20, so one file is 5 %.
    for (let i = 0; i < 14; i++) await writeFile(join(data, `f${String(i).padStart(2, '0')}.txt`), `file ${i}\n`);
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const run = await runCli([job]);
    expect(run.code, run.stderr).toBe(0);

    const unchanged = await runCli(['verify', job, '--spot', '5']);
    expect(unchanged.code, unchanged.stdout + unchanged.stderr).toBe(0);
    expect(unchanged.stdout).toMatch(/^OK +spot check data on disk run \d{14}(?:-\d+)?: 5 of 20 file\(s\) compared, 5 same, 0 differ, 0 vanished, 0 new since$/m);

    // One changed file of 20 (all compared): 5 %, within the default 10 %, but reported.
    await writeFile(join(data, 'sub', 'data.bin'), 'not the same any more\n');
    const one = await runCli(['verify', job, '--spot', '100']);
    expect(one.code, one.stdout).toBe(0);
    expect(one.stdout).toMatch(/20 of 20 file\(s\) compared, 19 same, 1 differ, 0 vanished, 0 new since/);
    expect(one.stdout).toMatch(/differ \(1\):\n +data\/sub\/data\.bin\n/);
    const strict = await runCli(['verify', job, '--spot', '100', '--spot-tolerance', '0']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/1 of 20 sampled files differ or vanished \(more than 0%\)/);

    // Then a vanished file, a changed one and a new one: 3 of 20 (15 %) fails the default.
    await rm(join(data, 'f03.txt'));
    await writeFile(join(data, 'hello.txt'), 'changed\n');
    await writeFile(join(data, 'new.txt'), 'new\n');
    const many = await runCli(['verify', job, '--spot', '100']);
    expect(many.code).toBe(1);
    expect(many.stdout).toMatch(/^FAILED spot check data on disk run \d{14}(?:-\d+)?: 20 of 20 file\(s\) compared, 17 same, 2 differ, 1 vanished, 1 new since$/m);
    expect(many.stdout).toMatch(/3 of 20 sampled files differ or vanished \(more than 10%\)/);
    expect(many.stdout).toMatch(/vanished \(1\):\n +data\/f03\.txt\n/);
    expect(many.stdout).toMatch(/new since the run \(1\):\n +data\/new\.txt\n/);
    const tolerant = await runCli(['verify', job, '--spot', '100', '--spot-tolerance', '20']);
    expect(tolerant.code, tolerant.stdout).toBe(0);

    const usage = await runCli(['verify', job, '--spot', 'many']);
    expect(usage.code).toBe(2);
  });
});
