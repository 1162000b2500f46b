/**
 * Fault injection, folder source → local destination: kill -9 of the runner, SIGTERM, SIGINT,
 * kill -9 of tar and of zstd while the first (only) artifact is being stored. After each:
 * `list` is truthful, `verify` fails on the interrupted run, `restore` brings back the last whole
 * run byte for byte, no temp folder or partial upload outlives the run that sweeps it, and
 * retention counts only whole runs (issue 10: failures 3 and 6). Also an interrupted
 * `restore --extract` (failure 6).
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { checkAfterFault, exitWithin, freeze, keptCopies, leftovers, listRuns, newestFirst, nextRunSweeps, startCli, thaw, waitForChild, waitForEntry, stopLeftoverRunners, type RunningCli } from '../support/faults.js';
import { entriesUnder } from '../support/files.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';
import { describeTree, makeTree } from '../support/tree.js';

const PASSPHRASE = 'fault injection signals 81c4';
// Big enough that tar is still writing when the test sees it (the pipeline holds it still).
const BIG_BYTES = 16 * 1024 * 1024;

interface Fault {
  /** Waits for the stage, delivers the fault; the runner then exits by itself or is dead. */
  inject(runner: RunningCli, store: string): Promise<void>;
  /** The runner survives the fault and must clean up after itself. */
  runnerSurvives: boolean;
}

const killRunnerMidUpload: Fault = {
  runnerSurvives: false,
  async inject(runner, store) {
    await waitForEntry(runner, store, /data\.tar\.zst\.gpg\.partial-/);
    process.kill(runner.pid, 'SIGKILL');
  },
};

const signalMidUpload = (signal: 'SIGTERM' | 'SIGINT'): Fault => ({
  runnerSurvives: true,
  async inject(runner, store) {
    await waitForEntry(runner, store, /data\.tar\.zst\.gpg\.partial-/);
    process.kill(runner.pid, signal);
  },
});

/** kill -9 of a child program while the runner is held still, so the child cannot finish first. */
const killChild = (comm: string): Fault => ({
  runnerSurvives: true,
  async inject(runner) {
    const child = await waitForChild(runner, comm);
    freeze(runner.pid);
    try {
      process.kill(child.pid, 'SIGKILL');
    } finally {
      thaw(runner.pid);
    }
  },
});

describeWith(['tar', 'zstd', 'gpg'], 'faults: signals and dead children during a folder backup', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let big: string;

  beforeAll(async () => {
    tmp = await makeTempDir('br-faults-signals-');
    big = join(tmp.path, 'big.bin');
    await writeFile(big, randomBytes(BIG_BYTES));
  });
  // A test that failed half-way must not leave a runner (and its children) behind.
  afterEach(stopLeftoverRunners);
  afterAll(async () => {
    await tmp?.remove();
  });

  async function scenario(name: string, fault: Fault): Promise<void> {
    const dir = join(tmp.path, name);
    const data = join(dir, 'data');
    const store = join(dir, 'store');
    const tmpdir = join(dir, 'tmp');
    await mkdir(data, { recursive: true });
    await makeTree(data);
    await link(big, join(data, 'big.bin')); // the shared 16 MB, without copying it
    await writeFile(join(data, 'generation.txt'), 'run 1\n');
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: store, create: 1, retention_copies: 2 }],
    });

    const first = await runCli(['-v', job]);
    expect(first.code, first.stderr).toBe(0);
    const runOne = (await listRuns(job))[0]!.run;
    const backedUp = await describeTree(data);

    await writeFile(join(data, 'generation.txt'), 'run 2, interrupted\n');
    const runner = startCli(['-v', job]);
    await fault.inject(runner, store);
    const ended = await exitWithin(runner);
    if (fault.runnerSurvives) {
      expect(ended.code, ended.stderr).toBe(1);
      // A runner that lived through the fault removes its own partial upload, temp folder and credentials.
      expect(await leftovers(store, tmpdir)).toEqual([]);
    } else {
      expect(ended.signal).toBe('SIGKILL');
    }

    await checkAfterFault({
      job,
      source: 'data',
      whole: [runOne],
      restoreArgs: ['--extract'],
      restoreTo: join(dir, 'restored'),
      compareRestored: async (to) => expect(await describeTree(join(to, 'data'))).toEqual(backedUp),
    });

    const next = await nextRunSweeps(job, [store, tmpdir]);
    // Two whole runs exist (1 and 3): an interrupted run is never counted as a copy.
    expect(keptCopies(next.stdout), next.stdout).toBe(2);
    const whole = newestFirst(await listRuns(job)).filter((r) => r.state === 'complete').map((r) => r.run);
    expect(whole).toHaveLength(2);
    expect(whole[1]).toBe(runOne);
  }

  it('failure 6: restore --extract stopped by SIGTERM or SIGINT says so, exits non-zero and leaves no plaintext staging folder', async () => {
    const dir = join(tmp.path, 'restore-interrupted');
    const data = join(dir, 'data');
    await mkdir(data, { recursive: true });
    await link(big, join(data, 'big.bin'));
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const stored = await runCli(['-v', job]);
    expect(stored.code, stored.stderr).toBe(0);
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const target = join(dir, `restored-${signal}`);
      await mkdir(target);
      const restore = startCli(['restore', job, '--source', 'data', '--to', target, '--extract']);
      await waitForEntry(restore, dir, /(^|\/)\.restoring-/);
      process.kill(restore.pid, signal);
      const ended = await exitWithin(restore);
      // Died of the signal itself = no handler ran, nothing was cleaned up or said.
      expect(ended.signal, `the restore died of ${signal} without handling it; stderr: ${ended.stderr}`).toBeNull();
      expect(ended.code, `${signal}: ${ended.stderr}`).not.toBe(0);
      expect(ended.stderr, signal).toMatch(new RegExp(`${signal}|interrupted`, 'i'));
      expect(await leftovers(dir)).toEqual([]);
      expect(await entriesUnder(target)).toEqual([]);
    }
  }, 90_000);

  it('kill -9 of the runner during the first artifact upload', () => scenario('kill-runner', killRunnerMidUpload), 90_000);
  it('SIGTERM during the first artifact upload', () => scenario('sigterm', signalMidUpload('SIGTERM')), 90_000);
  it('SIGINT during the first artifact upload', () => scenario('sigint', signalMidUpload('SIGINT')), 90_000);
  it('kill -9 of tar during the first artifact', () => scenario('kill-tar', killChild('tar')), 90_000);
  it('kill -9 of zstd during the first artifact', () => scenario('kill-zstd', killChild('zstd')), 90_000);
});
