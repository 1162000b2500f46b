/**
 * A destination that fails while tar → zstd → encryption → fan-out is streaming must not hang
 * the run (issue 10, failure 1): with no destination left the producer chain is stopped and
 * reaped, the run ends with exit 1, no tar or zstd outlives it, the lock is released. With
 * destinations left they get the whole artifact. A producer that dies is named as the cause,
 * not the programs that failed because of it.
 *
 * A destination "fails mid-way" by filling up: a local destination on a 1 MB tmpfs, a source
 * of 6 MB of random data. tar and zstd are started through wrappers that record their pids.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWith, findBinary } from '../support/binaries.js';
import { descendants, mountTmpfs, startCli, waitFor, waitForChild, type RunningCli, type Tmpfs } from '../support/faults.js';
import { entriesUnder, filesUnder } from '../support/files.js';
import { writeJob } from '../support/jobs.js';
import { writeScript } from '../support/plugins.js';
import { makeTempDir } from '../support/tmp.js';

const PASSPHRASE = 'hang test passphrase 5e1f';
/** Far more than any run here needs (about a second); only a hang reaches it. */
const EXIT_DEADLINE_MS = 30_000;

interface Setup {
  dir: string;
  data: string;
  /** PATH with the tar and zstd wrappers first. */
  env: NodeJS.ProcessEnv;
  pidsFile: string;
}

async function setUp(dir: string): Promise<Setup> {
  const data = join(dir, 'data');
  await mkdir(data);
  await writeFile(join(data, 'random.bin'), randomBytes(6 * 1024 * 1024));
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const pidsFile = join(dir, 'pids');
  for (const name of ['tar', 'zstd']) {
    // exec keeps the pid: the recorded pid is the real program's.
    await writeScript(bin, name, `echo "$$ ${name}" >> '${pidsFile}'\nexec '${findBinary(name)!}' "$@"`);
  }
  return { dir, data, pidsFile, env: { PATH: `${bin}:${process.env.PATH ?? ''}` } };
}

async function recordedPrograms(pidsFile: string): Promise<{ pid: number; name: string }[]> {
  const text = await readFile(pidsFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pid, name] = line.split(' ');
      return { pid: Number(pid), name: name! };
    });
}

/** A recorded program still running (or a zombie nobody reaped) under its own name. */
async function survivors(pidsFile: string): Promise<string[]> {
  const left: string[] = [];
  for (const { pid, name } of await recordedPrograms(pidsFile)) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => undefined);
    if (comm?.trim() === name) left.push(`${name} (pid ${pid})`);
  }
  return left;
}

async function exitWithin(runner: RunningCli, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      process.kill(runner.pid, 'SIGKILL');
      for (const p of descendants(runner.pid)) process.kill(p.pid, 'SIGKILL');
      reject(new Error(`the run did not end within ${ms / 1000} s (hang):\n${runner.stderr()}`));
    }, ms);
  });
  try {
    return await Promise.race([runner.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describeWith(['tar', 'zstd', 'mount'], 'a failing destination while the artifact streams', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let s: Setup;
  const mounts: Tmpfs[] = [];

  /** A local destination on a fresh 1 MB tmpfs: it fails with ENOSPC after about 1 MB. */
  async function smallDisk(id: string) {
    const fs = await mountTmpfs(join(tmp.path, `disk-${id}`), 1_000_000);
    if (!fs) throw new Error('mount -t tmpfs refused (the test needs root with CAP_SYS_ADMIN)');
    mounts.push(fs);
    return { id, type: 'local', path: join(fs.path, 'store'), create: 1 };
  }
  const goodDisk = (id: string) => ({ id, type: 'local', path: join(tmp.path, `good-${id}`), create: 1 });

  beforeAll(async () => {
    tmp = await makeTempDir();
    s = await setUp(tmp.path);
  });
  afterAll(async () => {
    for (const m of mounts) await m.unmount();
    await tmp?.remove();
  });

  async function run(name: string, destinations: Record<string, unknown>[]) {
    const state = join(tmp.path, `state-${name}`);
    const job = await writeJob(
      tmp.path,
      {
        state_dir: state,
        tmpdir: join(tmp.path, `tmp-${name}`),
        sources: [{ id: 'data', type: 'folder', path: s.data, passphrase: PASSPHRASE }],
        destinations,
      },
      `${name}.json`,
    );
    await writeFile(s.pidsFile, '');
    const runner = startCli(['-v', job], { env: s.env });
    const result = await exitWithin(runner, EXIT_DEADLINE_MS);
    expect(await recordedPrograms(s.pidsFile), 'tar and zstd ran').toHaveLength(2);
    expect(await survivors(s.pidsFile), result.stderr).toEqual([]);
    expect(await entriesUnder(join(state, 'locks'), false), 'lock released').toEqual([]);
    return result;
  }

  describe.each([
    { name: 'the only destination fills up: none left', left: 0, failing: ['full'], good: [] },
    { name: 'every destination fills up: none left', left: 0, failing: ['full1', 'full2'], good: [] },
    { name: 'one fills up, one left', left: 1, failing: ['full'], good: ['good'] },
    { name: 'one fills up, two left', left: 2, failing: ['full'], good: ['good1', 'good2'] },
  ])('$name', ({ left, failing, good }) => {
    it('ends with exit 1 naming the failed destination; the others hold the artifact', async () => {
      const destinations = [...(await Promise.all(failing.map(smallDisk))), ...good.map(goodDisk)];
      const result = await run(`left${left}-${failing.length}`, destinations);
      expect(result.code, result.stderr).toBe(1);
      for (const id of failing) expect(result.stderr).toMatch(new RegExp(`destination ${id}\\b.*ENOSPC|${id}.*no space left`));
      for (const id of good) expect((await filesUnder(join(tmp.path, `good-${id}`))).filter((f) => f.endsWith('data.tar.zst.gpg'))).toHaveLength(1);
    });
  });

  it('a compressor killed mid-way is named as the cause, not the tar it took down', async () => {
    const job = await writeJob(
      tmp.path,
      {
        state_dir: join(tmp.path, 'state-kill'),
        sources: [{ id: 'data', type: 'folder', path: s.data, passphrase: PASSPHRASE }],
        // Slow enough that zstd is still running when the test finds it.
        destinations: [{ ...goodDisk('slow'), upload_rate_limit: 1_000_000 }],
      },
      'kill-zstd.json',
    );
    await writeFile(s.pidsFile, '');
    const runner = startCli(['-v', job], { env: s.env });
    const zstd = await waitForChild(runner, 'zstd');
    await waitFor('data flowing', async () => (await entriesUnder(join(tmp.path, 'good-slow'))).some((e) => e.includes('.partial-')), { runner });
    process.kill(zstd.pid, 'SIGKILL');
    const result = await exitWithin(runner, EXIT_DEADLINE_MS);
    expect(result.code, result.stderr).toBe(1);
    const failure = result.stderr.split('\n').find((l) => /source data failed/.test(l)) ?? '';
    expect(failure, result.stderr).toMatch(/zstd was killed by SIGKILL/);
    expect(failure).not.toMatch(/tar exited/);
    expect(await survivors(s.pidsFile)).toEqual([]);
  });
});
