/**
 * Fault injection on the storage side: ENOSPC on an artifact (a real, small tmpfs as the local
 * destination), a full disk on the manifest write (the S3 test server answering MinIO's 507
 * XMinioStorageFull), kill -9 of the runner while its manifest is being written, in the middle
 * of a multipart upload, and during retention (the S3 server holds the request so the kill
 * lands exactly there), and the dry run's retention preview. Issue 10: failures 3, 6 and 10.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { checkAfterFault, exitWithin, keptCopies, leftovers, listRuns, mountTmpfs, newestFirst, nextRunSweeps, runBounded, startCli, stopLeftoverRunners, type Tmpfs } from '../support/faults.js';
import { writeJob } from '../support/jobs.js';
import { startFakeS3, type FakeS3Server, type FaultReply } from '../support/s3-server.js';
import { makeTempDir } from '../support/tmp.js';
import { describeTree, makeTree } from '../support/tree.js';

const PASSPHRASE = 'fault injection storage 62b0';
const BUCKET = 'faults';
const STORAGE_FULL: FaultReply = { status: 507, code: 'XMinioStorageFull', message: 'Storage backend has reached its minimum free drive threshold. Please delete a few objects to proceed.' };

describeWith(['tar', 'zstd', 'gpg'], 'faults: full disks, dead runners at the manifest and retention stages, dry-run preview', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let s3: FakeS3Server;
  const mounts: Tmpfs[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('br-faults-storage-');
    s3 = await startFakeS3({ buckets: [BUCKET] });
  });
  // A test that failed half-way must not leave a runner (and its children) behind.
  afterEach(stopLeftoverRunners);
  afterAll(async () => {
    for (const m of mounts) await m.unmount();
    await s3?.stop();
    await tmp?.remove();
  });

  /** A case folder with a small tree to back up (`data/`), its job's tmpdir, and an S3 destination under its own prefix. */
  async function caseWithS3(name: string, retentionCopies: number): Promise<{ dir: string; data: string; tmpdir: string; job: string; prefix: string }> {
    const dir = join(tmp.path, name);
    const data = join(dir, 'data');
    await mkdir(data, { recursive: true });
    await makeTree(data, { binaryBytes: 64 * 1024 });
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [
        {
          id: 'bucket',
          type: 's3',
          bucket: BUCKET,
          region: 'us-east-1',
          endpoint_url: s3.endpoint,
          prefix: name,
          credentials: { aws_access_key_id: s3.accessKeyId, aws_secret_access_key: s3.secretAccessKey },
          retention_copies: retentionCopies,
        },
      ],
    });
    return { dir, data, tmpdir: join(dir, 'tmp'), job, prefix: `${name}/` };
  }

  const objectsUnder = (prefix: string) => [...(s3.buckets.get(BUCKET)?.keys() ?? [])].filter((k) => k.startsWith(prefix));
  const isManifest = (key: string) => key.endsWith('/data.manifest.json');
  /** The run folder of a key holds a stored artifact already (the manifest comes after every artifact). */
  const artifactStoredBeside = (key: string) => objectsUnder(key.slice(0, key.lastIndexOf('/') + 1)).some((k) => k.endsWith('.gpg'));

  /** A deferred reply: the intercepted request waits until the test answers it. */
  /**
   * Runs the job, holds the first S3 request `matches` accepts (the runner waits on it, at that
   * exact moment of its protocol), kills the runner with SIGKILL there, then lets the request fail.
   */
  async function killRunnerAt(job: string, matches: (request: { method: string; key: string; query: URLSearchParams; body: Buffer }) => boolean): Promise<{ signal: NodeJS.Signals | null }> {
    let open!: (reply: FaultReply | undefined) => void;
    let arrive!: () => void;
    const reply = new Promise<FaultReply | undefined>((r) => (open = r));
    const hit = new Promise<void>((r) => (arrive = r));
    s3.intercept = (request) => {
      if (!matches(request)) return undefined;
      arrive();
      return reply;
    };
    try {
      const runner = startCli(['-v', job]);
      await hit;
      process.kill(runner.pid, 'SIGKILL');
      return await exitWithin(runner);
    } finally {
      s3.intercept = undefined;
      open({ status: 500, code: 'InternalError', message: 'the client is gone' });
    }
  }

  it('ENOSPC on an artifact (tmpfs destination): the run fails, leaves nothing partial, the last whole run restores', async () => {
    const dir = join(tmp.path, 'enospc-artifact');
    const data = join(dir, 'data');
    await mkdir(data, { recursive: true });
    await makeTree(data, { binaryBytes: 64 * 1024 });
    const disk: Tmpfs | undefined = await mountTmpfs(join(dir, 'disk'), 4 * 1024 * 1024);
    if (!disk) throw new Error('mount -t tmpfs refused: this test needs root and a kernel that allows tmpfs mounts');
    mounts.push(disk);
    const store = join(disk.path, 'store');
    const tmpdir = join(dir, 'tmp');
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'small', type: 'local', path: store, create: 1, retention_copies: 2 }],
    });
    const first = await runCli(['-v', job]);
    expect(first.code, first.stderr).toBe(0);
    const runOne = (await listRuns(job))[0]!.run;
    const backedUp = await describeTree(data);

    // 8 MiB of random data cannot fit in what is left of 4 MiB.
    await writeFile(join(data, 'too-big.bin'), randomBytes(8 * 1024 * 1024));
    // Bounded: a run that hangs on a failed destination (issue 10, failure 1) fails here instead of the test timing out.
    const full = await runBounded(['-v', job]);
    expect(full.code, full.stderr).toBe(1);
    expect(full.stderr).toMatch(/ENOSPC|no space left/i);
    expect(await leftovers(store, tmpdir)).toEqual([]);

    await checkAfterFault({
      job,
      source: 'data',
      whole: [runOne],
      restoreArgs: ['--extract'],
      restoreTo: join(dir, 'restored'),
      compareRestored: async (to) => expect(await describeTree(join(to, 'data'))).toEqual(backedUp),
    });

    await rm(join(data, 'too-big.bin'));
    const next = await nextRunSweeps(job, [store, tmpdir]);
    expect(keptCopies(next.stdout), next.stdout).toBe(2);
  });

  it('failure 3: a full disk on the manifest write of the first run ever is not a legacy run: verify and restore fail, retention does not count it', async () => {
    const c = await caseWithS3('enospc-manifest', 2);
    s3.intercept = ({ method, key }) => (method === 'PUT' && isManifest(key) && artifactStoredBeside(key) ? STORAGE_FULL : undefined);
    let failed;
    try {
      failed = await runCli(['-v', c.job]);
    } finally {
      s3.intercept = undefined;
    }
    expect(failed.code, failed.stderr).toBe(1);
    expect(objectsUnder(c.prefix).some((k) => k.endsWith('.gpg'))).toBe(true);
    expect(objectsUnder(c.prefix).some(isManifest)).toBe(false);

    await checkAfterFault({ job: c.job, source: 'data', whole: [], restoreTo: join(c.dir, 'restored'), compareRestored: async () => undefined });

    const next = await nextRunSweeps(c.job, [c.tmpdir]);
    // One real copy: the failed run is not a second one.
    expect(keptCopies(next.stdout), next.stdout).toBe(1);
    const rows = newestFirst(await listRuns(c.job));
    expect(rows.filter((r) => r.state === 'complete')).toHaveLength(1);
    expect(rows.filter((r) => r.state === 'legacy')).toEqual([]);
  });

  it('kill -9 of the runner while its manifest is being written: the run is incomplete, the earlier run restores', async () => {
    const c = await caseWithS3('kill-at-manifest', 2);
    const first = await runCli(['-v', c.job]);
    expect(first.code, first.stderr).toBe(0);
    const runOne = (await listRuns(c.job))[0]!.run;
    const backedUp = await describeTree(c.data);
    await writeFile(join(c.data, 'generation.txt'), 'run 2, killed at its manifest\n');

    const killed = await killRunnerAt(c.job, ({ method, key }) => method === 'PUT' && isManifest(key) && artifactStoredBeside(key));
    expect(killed.signal).toBe('SIGKILL');

    await checkAfterFault({
      job: c.job,
      source: 'data',
      whole: [runOne],
      restoreArgs: ['--extract'],
      restoreTo: join(c.dir, 'restored'),
      compareRestored: async (to) => expect(await describeTree(join(to, 'data'))).toEqual(backedUp),
    });
    const next = await nextRunSweeps(c.job, [c.tmpdir]);
    expect(keptCopies(next.stdout), next.stdout).toBe(2);
  });

  it('failure 6: kill -9 of the runner in the middle of a multipart upload; the next run aborts the unfinished upload and says so', async () => {
    const c = await caseWithS3('kill-multipart', 2);
    const first = await runCli(['-v', c.job]);
    expect(first.code, first.stderr).toBe(0);
    const runOne = (await listRuns(c.job))[0]!.run;
    const backedUp = await describeTree(c.data);
    // Several 5 MiB parts: the upload is multipart.
    await writeFile(join(c.data, 'big.bin'), randomBytes(16 * 1024 * 1024));

    // The second part: the upload is under way and one part is stored.
    await killRunnerAt(c.job, ({ method, query }) => method === 'PUT' && query.get('partNumber') === '2');
    expect(s3.pendingUploads(BUCKET).filter((k) => k.startsWith(c.prefix))).toHaveLength(1);

    await rm(join(c.data, 'big.bin'));
    await checkAfterFault({
      job: c.job,
      source: 'data',
      whole: [runOne],
      restoreArgs: ['--extract'],
      restoreTo: join(c.dir, 'restored'),
      compareRestored: async (to) => expect(await describeTree(join(to, 'data'))).toEqual(backedUp),
    });
    const next = await runCli(['-v', c.job]);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout + next.stderr).toMatch(/swept \d+ leftover/);
    expect(s3.pendingUploads(BUCKET).filter((k) => k.startsWith(c.prefix))).toEqual([]);
    expect(await leftovers(c.tmpdir)).toEqual([]);
  });

  it('kill -9 of the runner during retention: no run is left half-deleted and called whole, the newest whole run restores', async () => {
    const c = await caseWithS3('kill-in-retention', 1);
    for (const generation of [1, 2]) {
      await writeFile(join(c.data, 'generation.txt'), `run ${generation}\n`);
      const r = await runCli(['-v', c.job]);
      expect(r.code, r.stderr).toBe(0);
    }
    const before = newestFirst(await listRuns(c.job));
    expect(before.map((r) => r.state)).toEqual(['complete']);
    await writeFile(join(c.data, 'generation.txt'), 'run 3\n');
    const backedUp = await describeTree(c.data);

    // Hold the first request that deletes anything of run 2 (the copy retention now drops).
    const doomed = `/${before[0]!.run}/`;
    await killRunnerAt(
      c.job,
      ({ method, key, query, body }) => (method === 'DELETE' && !query.has('uploadId') && key.includes(doomed)) || (method === 'POST' && query.has('delete') && body.toString().includes(doomed)),
    );

    const rows = newestFirst(await listRuns(c.job));
    const runThree = rows[0]!.run;
    // Run 3's manifest was stored before retention began: it is whole; run 2 was not touched yet.
    expect(rows.map((r) => [r.run, r.state])).toEqual([
      [runThree, 'complete'],
      [before[0]!.run, 'complete'],
    ]);
    await checkAfterFault({
      job: c.job,
      source: 'data',
      whole: [runThree, before[0]!.run],
      restoreArgs: ['--extract'],
      restoreTo: join(c.dir, 'restored'),
      compareRestored: async (to) => expect(await describeTree(join(to, 'data'))).toEqual(backedUp),
    });
    const next = await nextRunSweeps(c.job, [c.tmpdir]);
    expect(keptCopies(next.stdout), next.stdout).toBe(1);
    expect(newestFirst(await listRuns(c.job)).map((r) => r.state)).toEqual(['complete']);
  });

  it('failure 10: the dry run counts the run about to be stored, so it names the run the real run then removes', async () => {
    const c = await caseWithS3('dry-run-preview', 1);
    const first = await runCli(['-v', c.job]);
    expect(first.code, first.stderr).toBe(0);
    const runOne = (await listRuns(c.job))[0]!.run;

    const dry = await runCli(['run', '--dry-run', c.job]);
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).not.toMatch(/would remove nothing/);
    expect(dry.stdout).toMatch(new RegExp(`would remove ${runOne}`));
    expect(objectsUnder(c.prefix).length).toBeGreaterThan(0);

    const real = await runCli(['-v', c.job]);
    expect(real.code, real.stderr).toBe(0);
    const after = await listRuns(c.job);
    expect(after.map((r) => r.run)).not.toContain(runOne);
    expect(after).toHaveLength(1);
  });
});
