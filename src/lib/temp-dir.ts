/**
 * The private temporary folders this tool makes (a run's, a restore's, smbclient's auth file):
 * named `backup-runner-...<owner>-XXXXXX`, where the owner part records the process that made
 * the folder (pid, start time, host and boot), so a sweeper can tell when that very process is
 * gone. Making them and reading the owner back; the sweeping is src/pipeline/sweep.ts.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { currentProcessIdentity, isProcessAlive } from './process-identity.js';

/** Every temp folder this tool makes starts with this (run, restore, smbclient's auth file). */
export const TEMP_FOLDER_PREFIX = 'backup-runner-';

const hash6 = (text: string | undefined) => createHash('sha256').update(text ?? '').digest('hex').slice(0, 6);

/** `<pid>-<start ticks>-<host hash><boot hash>-`: who made the folder, readable without opening it. */
export function ownerTag(): string {
  const me = currentProcessIdentity();
  return `${me.pid}-${me.start ?? 0}-${hash6(me.hostname)}${hash6(me.boot)}-`;
}

// The tag, then mkdtemp's six random characters.
const OWNED = /-(\d+)-(\d+)-([0-9a-f]{6})([0-9a-f]{6})-[A-Za-z0-9]{6}$/;

/**
 * Creates a private (0700) temporary folder `<tmpBase>/<prefix><owner>-XXXXXX` whose name
 * records the calling process, so `sweepTempFolders` can tell when its owner is gone.
 * `prefix` must start with `backup-runner-` (e.g. `backup-runner-`, `backup-runner-restore-`).
 */
export async function makeRunTempDir(tmpBase: string, prefix: string): Promise<string> {
  if (!prefix.startsWith(TEMP_FOLDER_PREFIX)) throw new Error(`temp folder prefix ${prefix} must start with ${TEMP_FOLDER_PREFIX}`);
  await mkdir(tmpBase, { recursive: true, mode: 0o700 });
  return mkdtemp(join(tmpBase, `${prefix}${ownerTag()}`));
}

/**
 * Whether the folder name's owner may still run: true for a live owner, and for an owner on
 * another host (a tmpdir on a shared mount: unknowable from here). `undefined` when the name
 * records no owner (folders of versions before owners were recorded).
 */
export function tempFolderOwnerAlive(name: string): boolean | undefined {
  const m = OWNED.exec(name);
  if (!m) return undefined;
  const me = currentProcessIdentity();
  if (m[3] !== hash6(me.hostname)) return true;
  if (m[4] !== hash6(me.boot)) return false;
  const start = Number(m[2]);
  return isProcessAlive({ pid: Number(m[1]), start: start === 0 ? undefined : start, hostname: me.hostname, boot: me.boot }) !== false;
}
