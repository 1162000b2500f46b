/**
 * One run per job at a time: a lock file per job in the state directory holding the pid.
 * A lock whose process is gone (crash, kill -9, reboot) is stale and taken over.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { LockHeldError } from '../errors.js';
import type { JobInfo } from '../plugin.js';

export interface JobLock {
  path: string;
  release(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockPath(stateDir: string, job: JobInfo): string {
  const digest = createHash('sha256').update(job.path).digest('hex').slice(0, 12);
  return join(stateDir, 'locks', `${job.name}-${digest}.lock`);
}

export async function acquireJobLock(stateDir: string, job: JobInfo): Promise<JobLock> {
  const path = lockPath(stateDir, job);
  await mkdir(join(stateDir, 'locks'), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(JSON.stringify({ pid: process.pid, started: new Date().toISOString(), job: job.path }));
      await handle.close();
      let released = false;
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          await unlink(path).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder: { pid?: number; started?: string } = {};
      try {
        holder = JSON.parse(await readFile(path, 'utf8')) as typeof holder;
      } catch {
        // Unreadable or half-written: treat as stale below only if it stays that way.
      }
      if (holder.pid && processAlive(holder.pid) && holder.pid !== process.pid) {
        throw new LockHeldError(`another run of ${job.path} is in progress (pid ${holder.pid}, started ${holder.started ?? '?'}); lock ${path}`);
      }
      await unlink(path).catch(() => undefined);
    }
  }
  throw new LockHeldError(`could not take the lock ${path}`);
}
