/** Test folders: generate a tree with text, binary, empty files, modes and a symlink; compare trees. */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { makeTempDir } from './tmp.js';

export async function makeTree(root: string, options: { binaryBytes?: number } = {}): Promise<void> {
  await mkdir(join(root, 'sub', 'deeper'), { recursive: true });
  await writeFile(join(root, 'hello.txt'), 'hello, world\n');
  await writeFile(join(root, 'unicode – äöü ✓.txt'), 'ünïcödé\n');
  await writeFile(join(root, 'empty'), '');
  await writeFile(join(root, 'sub', 'data.bin'), randomBytes(options.binaryBytes ?? 256 * 1024));
  await writeFile(join(root, 'sub', 'deeper', 'script.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'sub', 'deeper', 'script.sh'), 0o755);
  await writeFile(join(root, 'sub', 'secret.key'), 'private\n', { mode: 0o600 });
  await symlink('hello.txt', join(root, 'link-to-hello'));
}

/** A temporary folder (removed by `tmp.remove()`) holding `data/`, a tree from makeTree. */
export async function makeDataTree(options: { binaryBytes?: number } = {}): Promise<{ tmp: { path: string; remove: () => Promise<void> }; data: string }> {
  const tmp = await makeTempDir();
  const data = join(tmp.path, 'data');
  await mkdir(data);
  await makeTree(data, options);
  return { tmp, data };
}

/** path → "type mode sha256|target" for every entry below root. */
export async function describeTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const full = join(dir, name);
      const s = await lstat(full);
      const rel = relative(root, full);
      const mode = (s.mode & 0o7777).toString(8);
      if (s.isSymbolicLink()) out[rel] = `link ${await readlink(full)}`;
      else if (s.isDirectory()) {
        out[rel] = `dir ${mode}`;
        await walk(full);
      } else out[rel] = `file ${mode} ${createHash('sha256').update(await readFile(full)).digest('hex')}`;
    }
  }
  await walk(root);
  return out;
}
