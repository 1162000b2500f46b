/** Listing what a test left on disk. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Every file below `dir` (relative paths, sorted); an absent folder has none. */
export async function filesUnder(dir: string): Promise<string[]> {
  return (await entriesUnder(dir, false)).sort();
}

/** Every file and folder below `dir` (relative paths). */
export async function entriesUnder(dir: string, withFolders = true): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = join(d, e.name).slice(dir.length + 1);
      if (e.isDirectory()) {
        if (withFolders) out.push(rel);
        await walk(join(d, e.name));
      } else out.push(rel);
    }
  }
  await walk(dir);
  return out;
}
