/**
 * `backup prune` through the built CLI on a local destination holding back-dated runs: one real
 * run made by `backup run`, copied to back-dated run folders (the manifest and files are the real
 * ones), plus an interrupted run and a run of another job. Periods in UTC (TZ=UTC).
 *
 * Runs every day at 02:00 from 2025-02-26 to 2025-03-09 (a Sunday; ISO week 2025-W10 is
 * Mon 03-03 .. Sun 03-09, W09 is 02-24 .. 03-02), with keep_daily 3, keep_weekly 2, keep_monthly 2:
 * - daily 3:   03-09, 03-08, 03-07;
 * - weekly 2:  W10 → 03-09, W09 → 03-02;
 * - monthly 2: 2025-03 → 03-09, 2025-02 → 02-28.
 * Kept: 03-09, 03-08, 03-07, 03-02, 02-28 and the other job's run (never touched); removed: the
 * other 7 whole runs and the interrupted run of 03-08 22:00 (a whole run is newer; incomplete runs
 * never fill a period).
 */
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadJobFile } from '../../src/config/load.js';
import { acquireJobLock } from '../../src/pipeline/lock.js';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';

const PASSPHRASE = 'correct horse battery staple 7f3a';
const ENV = { TZ: 'UTC' };

const DAYS = ['0226', '0227', '0228', '0301', '0302', '0303', '0304', '0305', '0306', '0307', '0308', '0309'].map((d) => `2025${d}020000`);
const KEPT = ['20250309020000', '20250308020000', '20250307020000', '20250302020000', '20250228020000'];
const INTERRUPTED = '20250308220000';
const OTHER = '20250305120000';

describeWith(['zstd', 'tar'], 'backup prune on back-dated runs', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let job: string;
  let runs: string;

  beforeAll(async () => {
    tmp = await makeTempDir();
    const data = join(tmp.path, 'data');
    await mkdir(data);
    await writeFile(join(data, 'a.txt'), 'hello\n');
    job = await writeJob(tmp.path, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store'), create: 1, keep_daily: 3, keep_weekly: 2, keep_monthly: 2 }],
    });
    const run = await runCli(['run', job], { env: ENV });
    expect(run.code, run.stderr).toBe(0);
    runs = join(tmp.path, 'store', 'data');
    const [real] = await readdir(runs);
    expect(real).toMatch(/^\d{14}$/);
    const realDir = join(runs, real!);
    for (const key of [...DAYS, INTERRUPTED, OTHER]) await cp(realDir, join(runs, key), { recursive: true });
    await rm(realDir, { recursive: true });
    // Interrupted: its files, no manifest.
    await rm(join(runs, INTERRUPTED, 'data.manifest.json'));
    // Another job's run sharing the prefix.
    const manifestPath = join(runs, OTHER, 'data.manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { job: string };
    expect(manifest.job).toBe('job');
    await writeFile(manifestPath, JSON.stringify({ ...manifest, job: 'someone-else' }));
  });
  afterAll(() => tmp?.remove());

  const stored = async () => (await readdir(runs)).sort().reverse();

  it('--dry-run prints, per run, which rule keeps it or why it goes, and removes nothing', async () => {
    const result = await runCli(['prune', '--dry-run', job], { env: ENV });
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toContain('disk / data: keep_daily 3, keep_weekly 2, keep_monthly 2 (periods in UTC)');
    const line = (key: string) => out.split('\n').find((l) => l.includes(`  ${key}  `)) ?? `no line for ${key}`;
    expect(line('20250309020000')).toMatch(/^ {2}keep +20250309020000 {2}complete +daily 2025-03-09; weekly 2025-W10; monthly 2025-03$/);
    expect(line('20250302020000')).toMatch(/keep .*weekly 2025-W09$/);
    expect(line('20250228020000')).toMatch(/keep .*monthly 2025-02$/);
    expect(line('20250306020000')).toMatch(/^ {2}would remove {2}20250306020000 {2}complete +day 2025-03-06 is beyond the 3 newest days with runs; not the last run of week 2025-W10; not the last run of month 2025-03$/);
    expect(line(INTERRUPTED)).toMatch(/would remove .*incomplete +incomplete: incomplete runs never fill a period/);
    expect(line(OTHER)).toMatch(/keep .*other +a run of another job or host, never touched/);
    expect(out).toContain('would remove 8 run(s), kept 6');
    expect(out).toContain('dry run: nothing was removed');
    expect(await stored()).toHaveLength(DAYS.length + 2);
  });

  it('takes the job lock like a run: while it is held, prune fails with the lock exit code and removes nothing', async () => {
    const lock = await acquireJobLock(join(tmp.path, 'state'), loadJobFile(job).info);
    try {
      const result = await runCli(['prune', job], { env: ENV });
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('another run of');
      expect(await stored()).toHaveLength(DAYS.length + 2);
    } finally {
      await lock.release();
    }
  });

  it('removes exactly the runs the plan names, and a second prune finds nothing to remove', async () => {
    const result = await runCli(['prune', job], { env: ENV });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('removed 8 run(s), kept 6');
    expect(await stored()).toEqual([...KEPT, OTHER].sort().reverse());
    const again = await runCli(['prune', '--destination', 'disk', '--source', 'data', job], { env: ENV });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('removed 0 run(s), kept 6');
    const list = await runCli(['list', job], { env: ENV });
    expect(list.stdout.split('\n').filter((l) => / complete /.test(l))).toHaveLength(KEPT.length);
  });
});
