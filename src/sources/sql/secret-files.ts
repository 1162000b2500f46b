/**
 * Temporary credentials files (MySQL option files, pgpass files). Created with O_EXCL and
 * mode 0600 in the source's private tmpdir, so no other user can read them even for an
 * instant, and tracked so every one is removed whatever happens: when its dumper exits,
 * and again in the source's `cleanup()`.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withPath } from '../../errors.js';

export class SecretFiles {
  private readonly paths = new Set<string>();

  constructor(private readonly dir: string) {}

  /** Writes `content` to a new 0600 file named after `label`; returns its path. */
  async write(label: string, content: string): Promise<string> {
    const path = join(this.dir, `${label}-${randomBytes(8).toString('hex')}`);
    // Tracked before writing: a write that fails half-way still leaves a file to remove.
    this.paths.add(path);
    await writeFile(path, content, { mode: 0o600, flag: 'wx' }).catch((error: unknown) => {
      throw withPath(error, path);
    });
    return path;
  }

  async remove(path: string): Promise<void> {
    await rm(path, { force: true });
    this.paths.delete(path);
  }

  async removeAll(): Promise<void> {
    await Promise.all([...this.paths].map((path) => this.remove(path)));
  }

  /** Paths still on disk (tests). */
  get pending(): string[] {
    return [...this.paths];
  }
}

/**
 * A source's `filesFor(ctx)`: one SecretFiles per tmpdir (one per run in practice), made on
 * first use, so `cleanup` removes what `check`, `open` and `restoreInto` wrote there.
 */
export function secretFilesPerDir(): (ctx: { tmpdir: string }) => SecretFiles {
  const byDir = new Map<string, SecretFiles>();
  return ({ tmpdir }) => {
    let files = byDir.get(tmpdir);
    if (!files) byDir.set(tmpdir, (files = new SecretFiles(tmpdir)));
    return files;
  };
}

/** Runs `body` with a secret file that is removed afterwards, whatever happens. */
export async function withSecretFile<T>(files: SecretFiles, label: string, content: string | undefined, body: (path: string | undefined) => Promise<T>): Promise<T> {
  if (content === undefined) return body(undefined);
  const path = await files.write(label, content);
  try {
    return await body(path);
  } finally {
    await files.remove(path);
  }
}
