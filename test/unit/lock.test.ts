/**
 * The job lock (issue 10, failure 8): one lock per job file whatever path reaches it, a holder
 * recognised by its process identity (not only its pid), a lock file that is never seen half
 * written, and exactly one winner when several runs take over a stale lock at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockHeldError } from '../../src/errors.js';
import { currentProcessIdentity, processStartTicks } from '../../src/lib/process-identity.js';
import { acquireJobLock, lockPath } from '../../src/pipeline/lock.js';
import type { JobInfo } from '../../src/plugin.js';
import { makeTempDir } from '../support/tmp.js';

describe('job lock', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let other: ChildProcess;

  beforeAll(async () => {
    tmp = await makeTempDir();
    // A live process that is not a backup run: its pid is what a reused pid looks like.
    other = spawn('sleep', ['600'], { stdio: 'ignore' });
    await new Promise((resolve) => other.once('spawn', resolve));
  });
  afterAll(async () => {
    other?.kill('SIGKILL');
    await tmp?.remove();
  });

  let n = 0;
  async function newJob(): Promise<{ job: JobInfo; state: string }> {
    const dir = join(tmp.path, `job${++n}`);
    await mkdir(dir);
    const path = join(dir, 'nightly.json');
    await writeFile(path, '{}');
    return { job: { path, name: 'nightly', hostname: 'host' }, state: join(dir, 'state') };
  }

  async function writeLock(state: string, job: JobInfo, text: string, ageSeconds = 0): Promise<void> {
    const path = lockPath(state, job);
    await mkdir(join(state, 'locks'), { recursive: true });
    await writeFile(path, text);
    if (ageSeconds) {
      const then = new Date(Date.now() - ageSeconds * 1000);
      await utimes(path, then, then);
    }
  }

  it('is the same lock for the job file reached through a symlink', async () => {
    const { job, state } = await newJob();
    const link = join(tmp.path, 'link-to-nightly.json');
    await symlink(job.path, link);
    const held = await acquireJobLock(state, job);
    try {
      await expect(acquireJobLock(state, { path: link, name: 'link-to-nightly', hostname: 'host' })).rejects.toThrow(LockHeldError);
    } finally {
      await held.release();
    }
    const again = await acquireJobLock(state, { path: link, name: 'link-to-nightly', hostname: 'host' });
    await again.release();
  });

  it('takes over a lock whose pid now belongs to an unrelated live process', async () => {
    const { job, state } = await newJob();
    const me = currentProcessIdentity();
    const start = processStartTicks(other.pid!)!;
    // The holder was `other.pid` started at another time: that process is gone, the pid reused.
    await writeLock(state, job, JSON.stringify({ pid: other.pid, started: 'yesterday', holder: { ...me, pid: other.pid, start: start - 100 } }));
    const lock = await acquireJobLock(state, job);
    await lock.release();
    expect(await readdir(join(state, 'locks'))).toEqual([]);
  });

  it('refuses while the recorded process really runs', async () => {
    const { job, state } = await newJob();
    const me = currentProcessIdentity();
    await writeLock(state, job, JSON.stringify({ pid: other.pid, started: 'now', holder: { ...me, pid: other.pid, start: processStartTicks(other.pid!) } }));
    await expect(acquireJobLock(state, job)).rejects.toThrow(/another run of .* is in progress \(pid \d+/);
  });

  it('a lock file being written (unparseable, fresh) is held; one left half-written by a crash is stale', async () => {
    const { job, state } = await newJob();
    await writeLock(state, job, '{"pid": 12');
    await expect(acquireJobLock(state, job)).rejects.toThrow(LockHeldError);
    await writeLock(state, job, '{"pid": 12', 60);
    const lock = await acquireJobLock(state, job);
    await lock.release();
  });

  it('exactly one of several runs taking over a stale lock at once wins', async () => {
    const { job, state } = await newJob();
    await writeLock(state, job, JSON.stringify({ pid: 1, holder: { ...currentProcessIdentity(), pid: 1, boot: 'a boot long ago' } }));
    const attempts = await Promise.allSettled(Array.from({ length: 8 }, () => acquireJobLock(state, job)));
    const won = attempts.filter((a) => a.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const a of attempts) if (a.status === 'rejected') expect(a.reason).toBeInstanceOf(LockHeldError);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
    expect(await readdir(join(state, 'locks'))).toEqual([]);
  });
  it('removes the temporary lock file a runner killed mid-acquire left, but not one of a live process', async () => {
    const { job, state } = await newJob();
    const path = lockPath(state, job);
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.once('exit', resolve));
    await mkdir(join(state, 'locks'), { recursive: true });
    await writeFile(`${path}.new-${dead.pid}-0badf00d`, '{"pid":');
    await writeFile(`${path}.new-${process.pid}-0c0ffee0`, '{"pid":');
    const lock = await acquireJobLock(state, job);
    const names = await readdir(join(state, 'locks'));
    expect(names.filter((n) => n.includes(`.new-${dead.pid}-`))).toEqual([]);
    expect(names.filter((n) => n.includes(`.new-${process.pid}-0c0ffee0`))).toHaveLength(1);
    await lock.release();
  });
});
