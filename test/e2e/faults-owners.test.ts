/**
 * Whose run is it: the original tool's runs named in local time (TZ=Asia/Tokyo), one of them made
 * after ours (a rollback), must stay legacy = whole (issue 10, failure 4); two job files writing
 * one prefix in the same second, and two hosts sharing a bucket folder, each keep their runs and
 * never count or prune the other's (failure 5).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { exitWithin, keptCopies, listRuns, newestFirst, startCli, stopLeftoverRunners, type ListRow } from '../support/faults.js';
import { gpgSymmetric, makeGpgHome, type GpgHome } from '../support/gpg.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';
import { describeTree, makeTree } from '../support/tree.js';

const PASSPHRASE = 'fault injection owners 0a7e';
const TOKYO = { TZ: 'Asia/Tokyo' };

/** `datetime.now().strftime('%Y%m%d%H%M%S')` in Tokyo, as the original tool named its run folders. */
function tokyoFolderName(time: Date): string {
  const local = new Date(time.getTime() + 9 * 3600_000); // Asia/Tokyo has no DST
  return local.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

const states = (rows: ListRow[]) => newestFirst(rows).map((r) => `${r.run} ${r.state}`);

describeWith(['tar', 'zstd', 'gpg', 'gzip'], 'faults: whose run it is (legacy in local time, two jobs, two hosts)', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let gpgHome: GpgHome;

  beforeAll(async () => {
    tmp = await makeTempDir('br-faults-owners-');
    gpgHome = await makeGpgHome(false);
  });
  // A test that failed half-way must not leave a runner (and its children) behind.
  afterEach(stopLeftoverRunners);
  afterAll(async () => {
    await gpgHome?.remove();
    await tmp?.remove();
  });

  /** A run of the original tool: `tar` of the folder, optionally gzip, then `gpg --symmetric`, in `<store>/<id>/<folder>/`. */
  async function originalRun(store: string, data: string, folder: string, gzip: boolean): Promise<void> {
    const runDir = join(store, 'data', folder);
    await mkdir(runDir, { recursive: true });
    const tarFile = join(tmp.path, `${folder}.tar`);
    execFileSync('tar', ['-C', join(data, '..'), '-cf', tarFile, './data']);
    let plain = tarFile;
    if (gzip) {
      execFileSync('gzip', ['-k', '-n', tarFile]);
      plain = `${tarFile}.gz`;
    }
    await gpgSymmetric(plain, join(runDir, gzip ? 'data.tar.gz.gpg' : 'data.tar.gpg'), gpgHome, PASSPHRASE);
  }

  it('failure 4: runs of the original named in Tokyo local time, before and after ours, are legacy: listed whole, restored, counted', async () => {
    const dir = join(tmp.path, 'tokyo');
    const data = join(dir, 'data');
    const store = join(dir, 'store');
    await mkdir(data, { recursive: true });
    await makeTree(data, { binaryBytes: 32 * 1024 });
    const now = Date.now();
    const older = tokyoFolderName(new Date(now - 3 * 86_400_000));
    const old = tokyoFolderName(new Date(now - 2 * 86_400_000));
    await writeFile(join(data, 'generation.txt'), 'original tool, 3 days ago\n');
    await originalRun(store, data, older, false);
    await writeFile(join(data, 'generation.txt'), 'original tool, 2 days ago\n');
    await originalRun(store, data, old, true);

    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: store, retention_copies: 4 }],
    });
    await writeFile(join(data, 'generation.txt'), 'ours\n');
    const ours = await runCli(['-v', job], { env: TOKYO });
    expect(ours.code, ours.stderr).toBe(0);

    // The rollback: the original runs again after ours; its folder (local time, UTC+9) sorts after ours.
    await writeFile(join(data, 'generation.txt'), 'original tool again, after ours\n');
    const rollback = tokyoFolderName(new Date());
    await originalRun(store, data, rollback, false);
    const rolledBack = await describeTree(data);

    const rows = newestFirst(await listRuns(job, TOKYO));
    const byRun = new Map(rows.map((r) => [r.run, r.state]));
    expect(byRun.get(older), states(rows).join('\n')).toBe('legacy');
    expect(byRun.get(old), states(rows).join('\n')).toBe('legacy');
    expect(byRun.get(rollback), states(rows).join('\n')).toBe('legacy');
    expect(rows.filter((r) => r.state === 'complete')).toHaveLength(1);
    expect(rows.filter((r) => r.state === 'incomplete' || r.state === 'other')).toEqual([]);

    const verify = await runCli(['verify', job], { env: TOKYO });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const restored = join(dir, 'restored');
    const restore = await runCli(['restore', job, '--source', 'data', '--to', restored, '--extract'], { env: TOKYO });
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).toContain(rollback);
    expect(await describeTree(join(restored, 'data'))).toEqual(rolledBack);

    // Five whole runs with ours again, four copies kept: only the oldest legacy run goes.
    const again = await runCli(['-v', job], { env: TOKYO });
    expect(again.code, again.stderr).toBe(0);
    expect(keptCopies(again.stdout), again.stdout).toBe(4);
    const after = newestFirst(await listRuns(job, TOKYO));
    expect(after.map((r) => r.run)).not.toContain(older);
    expect(after.filter((r) => r.state === 'legacy').map((r) => r.run).sort()).toEqual([old, rollback].sort());
  });

  it('failure 5: two job files, one source id, one destination, started in the same second: both runs survive, each job sees the other as other', async () => {
    const dir = join(tmp.path, 'two-jobs');
    const store = join(dir, 'store');
    const jobs: Record<'a' | 'b', { path: string; data: string }> = {} as never;
    for (const name of ['a', 'b'] as const) {
      const data = join(dir, `data-${name}`, 'data');
      await mkdir(data, { recursive: true });
      await makeTree(data, { binaryBytes: 16 * 1024 });
      await writeFile(join(data, 'owner.txt'), `job ${name}\n`);
      const path = await writeJob(dir, {
        sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
        destinations: [{ id: 'disk', type: 'local', path: store, create: 1, retention_copies: 1 }],
      }, `job-${name}.json`);
      jobs[name] = { path, data };
    }
    const both = [startCli(['-v', jobs.a.path]), startCli(['-v', jobs.b.path])];
    const results = await Promise.all(both.map((r) => exitWithin(r)));
    for (const r of results) expect(r.code, r.stderr).toBe(0);

    for (const [me, them] of [['a', 'b'], ['b', 'a']] as const) {
      const rows = await listRuns(jobs[me].path);
      expect(rows.map((r) => r.state).sort(), JSON.stringify(rows)).toEqual(['complete', 'other']);
      expect(rows.find((r) => r.state === 'other')!.owner).toEqual({ hostname: 'testhost', job: `job-${them}` });
      const to = join(dir, `restored-${me}`);
      const restore = await runCli(['restore', jobs[me].path, '--source', 'data', '--to', to, '--extract']);
      expect(restore.code, restore.stderr).toBe(0);
      expect(await describeTree(join(to, 'data'))).toEqual(await describeTree(jobs[me].data));
    }

    // Job a runs twice more with retention_copies 1: its own older runs go, job b's run stays.
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['-v', jobs.a.path]);
      expect(r.code, r.stderr).toBe(0);
      expect(keptCopies(r.stdout), r.stdout).toBe(1);
    }
    const fromB = await listRuns(jobs.b.path);
    expect(fromB.filter((r) => r.state === 'complete')).toHaveLength(1);
    const fromA = await listRuns(jobs.a.path);
    expect(fromA.map((r) => r.state).sort()).toEqual(['complete', 'other']);
  });

  it('failure 5: two hosts sharing a bucket folder with the default layout never count or prune each other', async () => {
    const dir = join(tmp.path, 'two-hosts');
    const store = join(dir, 'store');
    const data = join(dir, 'data');
    await mkdir(data, { recursive: true });
    await makeTree(data, { binaryBytes: 16 * 1024 });
    const hostJob = async (host: string) => {
      const sub = join(dir, host);
      await mkdir(sub);
      return writeJob(sub, {
        hostname: host,
        sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
        destinations: [{ id: 'shared', type: 'local', path: store, create: 1, retention_copies: 1 }],
      });
    };
    const jobA = await hostJob('host-a');
    const jobB = await hostJob('host-b');

    const b = await runCli(['-v', jobB]);
    expect(b.code, b.stderr).toBe(0);
    for (let i = 0; i < 3; i++) {
      const a = await runCli(['-v', jobA]);
      expect(a.code, a.stderr).toBe(0);
      // One copy of host-a's own: host-b's run is neither a copy nor removed.
      expect(keptCopies(a.stdout), a.stdout).toBe(1);
    }
    const fromA = await listRuns(jobA);
    expect(fromA.map((r) => r.state).sort(), JSON.stringify(fromA)).toEqual(['complete', 'other']);
    expect(fromA.find((r) => r.state === 'other')!.owner?.hostname).toBe('host-b');
    const fromB = await listRuns(jobB);
    expect(fromB.map((r) => r.state).sort(), JSON.stringify(fromB)).toEqual(['complete', 'other']);
    const verifyB = await runCli(['verify', jobB]);
    expect(verifyB.code, verifyB.stdout + verifyB.stderr).toBe(0);
  });
});
