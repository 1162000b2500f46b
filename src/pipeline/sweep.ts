/**
 * Leftovers of runs that died (kill -9, power loss): partial uploads on destinations, and the
 * runs' private temporary folders with the credentials files inside them. This module is the
 * mechanism; who may be removed is the caller's policy (`canRemove`), except for temp folders,
 * whose owner is known exactly: the folder's name records the identity of the process that
 * made it (see src/lib/temp-dir.ts), so a folder is swept only once that very process is
 * gone, never while a concurrent run (of this or another job) still uses it.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Destination, PartialUpload } from '../destinations/types.js';
import { TEMP_FOLDER_PREFIX, tempFolderOwnerAlive } from '../lib/temp-dir.js';

export interface SweptLeftover {
  /** The final key of a partial upload, or the path of a temp folder or file. */
  key: string;
  size?: number;
  kind: 'partial upload' | 'temp folder' | 'credential file' | 'empty interrupted run';
}

/** Removes the unfinished uploads under `prefix` that `canRemove` accepts; returns what went. */
export async function sweepPartials(destination: Destination, prefix: string, canRemove: (partial: PartialUpload) => boolean): Promise<SweptLeftover[]> {
  if (!destination.listPartial || !destination.removePartial) return [];
  const doomed: PartialUpload[] = [];
  for await (const partial of destination.listPartial(prefix)) if (canRemove(partial)) doomed.push(partial);
  if (doomed.length > 0) await destination.removePartial(doomed);
  return doomed.map((p) => ({ key: p.key, ...(p.size === undefined ? {} : { size: p.size }), kind: 'partial upload' }));
}

/** Credentials files the sources and destinations write into a temp folder (see SecretFiles, smbclient.ts). */
const CREDENTIAL_FILE = /^(pgpass|mysql-client\.cnf)-[0-9a-f]+$|^auth$/;

export interface SweepTempOptions {
  /** Folders that record no owner are swept once untouched for this long (default 24 hours). */
  unownedAgeMs?: number;
  now?: Date;
}

/**
 * Removes the temp folders of dead processes (and the credentials files in them) from
 * `tmpBase` and from the system temp folder (where destinations without a run folder, such as
 * samba's smbclient, keep theirs). Best effort: an entry that cannot be read or removed is
 * skipped, never an error. Returns what was removed: each folder, and each credentials file in it.
 */
export async function sweepTempFolders(tmpBase: string, options: SweepTempOptions = {}): Promise<SweptLeftover[]> {
  const unownedAge = options.unownedAgeMs ?? 24 * 3600 * 1000;
  const now = (options.now ?? new Date()).getTime();
  const swept: SweptLeftover[] = [];
  for (const base of new Set([resolve(tmpBase), resolve(tmpdir())])) {
    let names: string[];
    try {
      names = await readdir(base);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.startsWith(TEMP_FOLDER_PREFIX)) continue;
      const path = join(base, name);
      try {
        const info = await stat(path);
        if (!info.isDirectory()) continue;
        const alive = tempFolderOwnerAlive(name);
        if (alive === true || (alive === undefined && now - info.mtimeMs < unownedAge)) continue;
        const inside = await describeContents(path);
        await rm(path, { recursive: true, force: true });
        swept.push({ key: path, size: inside.reduce((sum, f) => sum + (f.size ?? 0), 0), kind: 'temp folder' }, ...inside.filter((f) => f.kind === 'credential file'));
      } catch {
        // Gone meanwhile, or not ours to remove: leave it.
      }
    }
  }
  return swept;
}

/** The files under `dir`, credentials files marked as such. */
async function describeContents(dir: string): Promise<SweptLeftover[]> {
  const found: SweptLeftover[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await describeContents(path)));
    else found.push({ key: path, size: (await stat(path).catch(() => undefined))?.size, kind: CREDENTIAL_FILE.test(entry.name) ? 'credential file' : 'temp folder' });
  }
  return found;
}
