/**
 * One run per job at a time: a lock file per job in the state directory.
 *
 * - The lock is keyed by the job file's real path: the same job reached through a symlink (or
 *   `./job.json` and `/etc/backup/job.json`) is the same lock.
 * - The file records the holder's process identity (pid, boot id, start time): a lock whose
 *   process is gone (crash, kill -9, reboot) or whose pid now belongs to another process is
 *   stale and taken over.
 * - The file appears whole or not at all: it is written under a temporary name and hard-linked
 *   to the lock name (link fails when the name exists, so exactly one writer wins).
 *   A lock file that does not parse is taken as held while fresh, as stale once old.
 */
import { createHash, randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { link, mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LockHeldError, withPath } from '../errors.js';
import { currentProcessIdentity, isProcessAlive, type ProcessIdentity } from '../lib/process-identity.js';
import { sleep } from '../lib/retry.js';
import type { JobInfo } from '../plugin.js';

export interface JobLock {
  path: string;
  release(): Promise<void>;
}

interface LockContent {
  pid?: number;
  started?: string;
  job?: string;
  holder?: ProcessIdentity;
}

/**
 * A lock file that does not parse can only come from a crash of an older version mid-write
 * (this one never shows a partial file): stale once it is older than any write takes.
 */
const UNREADABLE_STALE_MS = 10_000;
/** How long to wait while another run takes over a stale lock, and how often. */
const TAKEOVER_WAIT_MS = 20;
const ATTEMPTS = 100;

function realJobPath(job: JobInfo): string {
  try {
    return realpathSync(job.path);
  } catch {
    return job.path; // `<embedded>`, or a file removed since it was loaded
  }
}

export function lockPath(stateDir: string, job: JobInfo): string {
  const real = realJobPath(job);
  const digest = createHash('sha256').update(real).digest('hex').slice(0, 12);
  const name = real === job.path ? job.name : basename(real).replace(/\.[^.]*$/, '');
  return join(stateDir, 'locks', `${name}-${digest}.lock`);
}

type Holder = { state: 'live'; content: LockContent } | { state: 'stale'; ino: number } | { state: 'gone' };

async function inspect(path: string): Promise<Holder> {
  let ino: number;
  let text: string;
  let ageMs: number;
  try {
    const s = await stat(path);
    ino = s.ino;
    ageMs = Date.now() - s.mtimeMs;
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'gone' };
    throw error;
  }
  let content: LockContent;
  try {
    content = JSON.parse(text) as LockContent;
  } catch {
    return ageMs > UNREADABLE_STALE_MS ? { state: 'stale', ino } : { state: 'live', content: {} };
  }
  const identity = content.holder ?? (typeof content.pid === 'number' ? { pid: content.pid } : undefined);
  if (!identity) return ageMs > UNREADABLE_STALE_MS ? { state: 'stale', ino } : { state: 'live', content };
  // Unknown (another host's identity, on a shared state folder) counts as alive.
  return isProcessAlive(identity) === false ? { state: 'stale', ino } : { state: 'live', content };
}

/**
 * Removes the stale lock `ino` and nothing else. Removals are serialised by a takeover file
 * (created exclusively), under which the lock is checked again: two runs that both saw the
 * stale lock can never remove the new lock the first of them took meanwhile.
 */
async function removeStale(path: string, ino: number): Promise<void> {
  const guard = `${path}.takeover`;
  try {
    await writeFile(guard, String(process.pid), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another run is taking over: let it. A guard left by a crash goes after a while.
    const age = await stat(guard).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > UNREADABLE_STALE_MS) await unlink(guard).catch(() => undefined);
    else await sleep(TAKEOVER_WAIT_MS);
    return;
  }
  try {
    // Checked again, not only by inode: a lock taken meanwhile by a third run may reuse the
    // stale file's freed inode number, and is live.
    const now = await inspect(path);
    if (now.state === 'stale' && now.ino === ino) await unlink(path);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

export async function acquireJobLock(stateDir: string, job: JobInfo): Promise<JobLock> {
  const path = lockPath(stateDir, job);
  await mkdir(join(stateDir, 'locks'), { recursive: true, mode: 0o700 });
  const me = currentProcessIdentity();
  const content: LockContent = { pid: me.pid, started: new Date().toISOString(), job: realJobPath(job), holder: me };
  const text = JSON.stringify(content);
  await removeDeadTempFiles(path);
  const temp = `${path}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(temp, text, { mode: 0o600, flag: 'wx' }).catch(async (error: unknown) => {
    // A write cut short (a full disk) leaves the file; its error names no file: a bare
    // "no space left on the device" would read like a full destination.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') await unlink(temp).catch(() => undefined);
    throw withPath(error, temp);
  });
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        await link(temp, path);
        return ownLock(path, text);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await inspect(path);
      if (holder.state === 'live') {
        const { pid, started } = holder.content;
        throw new LockHeldError(`another run of ${job.path} is in progress (pid ${pid ?? '?'}, started ${started ?? '?'}); lock ${path}`);
      }
      if (holder.state === 'stale') await removeStale(path, holder.ino);
    }
    throw new LockHeldError(`could not take the lock ${path}`);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** A runner killed between writing its lock's temporary file and removing it left that file: its pid is gone. */
async function removeDeadTempFiles(path: string): Promise<void> {
  const prefix = `${basename(path)}.new-`;
  for (const name of await readdir(dirname(path)).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isSafeInteger(pid) && pid > 0 && isProcessAlive({ pid }) === false) await unlink(join(dirname(path), name)).catch(() => undefined);
  }
}

function ownLock(path: string, text: string): JobLock {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      // Only our own lock: never one another run took over meanwhile.
      const now = await readFile(path, 'utf8').catch(() => undefined);
      if (now === text) await unlink(path).catch(() => undefined);
    },
  };
}
