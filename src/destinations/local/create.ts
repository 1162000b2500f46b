/**
 * The local destination's instance: atomic puts into a folder on this machine. Loaded only when
 * a job uses the destination (index.ts declares it).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rmdir, stat, unlink, access, constants } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DestinationError, ObjectNotFoundError, describeError, describeSystemError, isSystemError } from '../../errors.js';
import type { Destination, DestinationOptions, PartialUpload, StoredObject } from '../types.js';
import type { LocalOptions } from './schema.js';
import { finalNameOf, isPartialName, partialNameFor } from '../temp-names.js';

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function create(options: DestinationOptions<ReturnType<typeof LocalOptions>>): Destination {
  const root = resolve(options.path);
  const doSync = options.fsync ?? true;
  const fail = (message: string, cause?: unknown) => new DestinationError(message, { plugin: options.id, cause });
  const writeFailure = (error: unknown) => (isSystemError(error) ? describeSystemError(error, { writing: true }) : describeError(error));
  const pathOf = (key: string) => {
    const full = resolve(root, key);
    if (full !== root && !full.startsWith(root + sep)) throw fail(`key ${key} leaves the destination folder`);
    return full;
  };

  async function ensureRoot(): Promise<void> {
    try {
      const s = await stat(root);
      if (!s.isDirectory()) throw fail(`${root} is not a folder`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (!options.create) throw fail(`${root} does not exist (is the drive mounted? set "create": 1 to create it)`);
      await mkdir(root, { recursive: true, mode: 0o700 });
    }
  }

  /** Removes run folders left empty, up to but never including the root. */
  async function removeEmptyFolders(from: string): Promise<void> {
    let dir = from;
    while (dir !== root && dir.startsWith(root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        return;
      }
      dir = dirname(dir);
    }
  }

  /** Every file under `dir`, partial uploads included, with its key. */
  async function* walkFiles(dir: string): AsyncIterable<{ name: string; key: string; size: number; mtime: Date }> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) yield* walkFiles(full);
      else if (entry.isFile()) {
        const s = await stat(full).catch(() => undefined);
        if (s) yield { name: entry.name, key: relative(root, full).split(sep).join('/'), size: s.size, mtime: s.mtime };
      }
    }
  }

  /** Walks only the deepest folder the prefix names. */
  const folderOf = (prefix: string) => pathOf(prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '');

  return {
    async check() {
      await ensureRoot();
      await access(root, constants.W_OK).catch((error: unknown) => {
        throw fail(writeFailure(error), error);
      });
    },

    async put(key, body, { signal }) {
      await ensureRoot();
      const target = pathOf(key);
      await mkdir(dirname(target), { recursive: true, mode: 0o700 }).catch(async (error: unknown) => {
        // Node's recursive mkdir says ENOENT on a read-only file system: ask the folder itself.
        await access(root, constants.W_OK).catch((denied: unknown) => {
          throw fail(`cannot store ${key}: ${writeFailure(denied)}`, denied);
        });
        throw fail(`cannot store ${key}: ${writeFailure(error)}`, error);
      });
      const temp = join(dirname(target), partialNameFor(basename(target)));
      try {
        await pipeline(body, createWriteStream(temp, { mode: 0o600, flags: 'wx' }), { signal });
        if (doSync) await fsyncPath(temp);
        await rename(temp, target);
        if (doSync) await fsyncPath(dirname(target));
        return { size: (await stat(target)).size };
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        await removeEmptyFolders(dirname(target));
        throw error instanceof DestinationError ? error : fail(`storing ${key} failed: ${writeFailure(error)}`, error);
      }
    },

    async *list(prefix) {
      // An unmounted drive must not read as "no runs stored": a missing root is an error unless
      // the job lets this destination create it.
      if (!options.create) await ensureRoot();
      for await (const file of walkFiles(folderOf(prefix))) {
        if (!isPartialName(file.name) && file.key.startsWith(prefix)) yield { key: file.key, size: file.size, lastModified: file.mtime } satisfies StoredObject;
      }
    },

    async *listPartial(prefix) {
      for await (const file of walkFiles(folderOf(prefix))) {
        const final = finalNameOf(file.name);
        if (final === undefined) continue;
        const key = `${file.key.slice(0, file.key.length - file.name.length)}${final}`;
        if (key.startsWith(prefix)) yield { key, handle: file.key, size: file.size, lastModified: file.mtime } satisfies PartialUpload;
      }
    },

    async removePartial(partials) {
      for (const partial of partials) {
        // The handle is a path relative to the root: only ever a temporary file of ours.
        const path = pathOf(partial.handle);
        if (finalNameOf(basename(path)) === undefined) throw fail(`${partial.handle} is not a partial upload`);
        await unlink(path).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw fail(`removing the partial upload ${partial.handle} failed: ${error.message}`, error);
        });
        await removeEmptyFolders(dirname(path));
      }
    },

    async get(key) {
      const path = pathOf(key);
      try {
        const s = await stat(path);
        if (!s.isFile()) throw new ObjectNotFoundError(key, { plugin: options.id });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(key, { plugin: options.id });
        throw error;
      }
      // 1 MiB reads: a sixteenth of the reads, decryptions and pipe writes of the default 64 KiB.
      return createReadStream(path, { highWaterMark: 1 << 20 });
    },

    async delete(keys) {
      for (const key of keys) {
        const path = pathOf(key);
        await unlink(path).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw fail(`deleting ${key} failed: ${error.message}`, error);
        });
        await removeEmptyFolders(dirname(path));
      }
    },
  };
}
