/**
 * Checks of the files and folders a job file names, done when it loads so that
 * `backup validate` finds what would otherwise fail only at run time.
 */
import { statSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { ConfigError, type ConfigProblem } from '../errors.js';

/** `below-file`: a file stands where a folder of the path should be (ENOTDIR). */
function kindOf(path: string): 'folder' | 'file' | 'missing' | 'below-file' | { error: string } {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'below-file';
    return { error: code ?? String(error) };
  }
}

/** The nearest existing folder at or above `path`, or the file that blocks the way. */
function nearestExisting(path: string): { path: string; kind: 'folder' | 'file' } {
  let current = resolvePath(path);
  for (;;) {
    const kind = kindOf(current);
    if (kind === 'folder' || kind === 'file') return { path: current, kind };
    const parent = dirname(current);
    if (parent === current) return { path: current, kind: 'folder' };
    current = parent;
  }
}

/**
 * `state_dir`: an existing folder, or one that can be made (every existing part of its path
 * is a folder). Whether it is writable is found at run time (see stateDirFailure): validate
 * often runs as another user than the run.
 */
export function checkStateDir(dir: string, key: string, problems: ConfigProblem[]): void {
  const blocker = nearestExisting(dir);
  if (blocker.kind === 'file') {
    problems.push({ path: key, message: blocker.path === resolvePath(dir) ? `${dir} is a file, not a folder` : `${dir} cannot be a folder: ${blocker.path} is a file` });
  }
}

/**
 * `tmpdir`: an existing folder, or a missing one whose parent folder exists (the run creates
 * that last level, as `mkdir` would). A missing parent is more likely a typo or an unmounted
 * disk than a wish to create a tree.
 */
export function checkTmpdir(dir: string, key: string, problems: ConfigProblem[]): void {
  const kind = kindOf(dir);
  if (kind === 'folder') return;
  if (kind === 'file') {
    problems.push({ path: key, message: `${dir} is a file, not a folder` });
    return;
  }
  if (typeof kind === 'object') {
    problems.push({ path: key, message: `cannot use ${dir} (${kind.error})` });
    return;
  }
  if (kind === 'below-file') {
    problems.push({ path: key, message: `${dir} cannot be a folder: ${nearestExisting(dir).path} is a file` });
    return;
  }
  const parent = dirname(resolvePath(dir));
  if (kindOf(parent) !== 'folder') {
    problems.push({ path: key, message: `${dir} does not exist, nor does its parent folder ${parent} (a run creates only the last level)` });
  }
}

const KEY_ID = /^(0x)?[0-9A-Fa-f]{8,40}$/;

/** What a recipient entry is: armored key text, a gpg key id/fingerprint, an e-mail (keyring), or a key file. */
function isKeyFile(spec: string): boolean {
  // The same tests, in the same order, as the run's key reader (src/pipeline/encrypt.ts).
  return !spec.includes('-----BEGIN PGP') && !KEY_ID.test(spec) && !spec.includes('@');
}

/**
 * Key files in `recipients` are taken from the job file's folder when relative, and must
 * exist; the returned list has them as absolute paths, so the run reads the same files.
 * Key ids and e-mails are looked up in the gpg keyring at run time.
 */
export function checkRecipients(specs: readonly string[], path: string, baseDir: string, problems: ConfigProblem[]): string[] {
  return specs.map((spec, i) => {
    if (!isKeyFile(spec)) return spec;
    const full = isAbsolute(spec) ? spec : resolvePath(baseDir, spec);
    const kind = kindOf(full);
    if (kind !== 'file') {
      const why = kind === 'missing' || kind === 'below-file' ? 'does not exist' : kind === 'folder' ? 'is a folder' : `cannot be read (${kind.error})`;
      problems.push({
        path: `${path}[${i}]`,
        message: `key file ${full} ${why} (a recipient is a key file, armored key text, a key id or an e-mail of the gpg keyring)`,
      });
    }
    return full;
  });
}

const STATE_DIR_CODES = new Set(['ENOTDIR', 'EACCES', 'EPERM', 'EEXIST', 'EROFS']);

/**
 * A lock or history failure caused by `state_dir` itself (a file in the way, no permission,
 * read-only) is a job-file error naming `state_dir`, not a failed run.
 */
export function stateDirFailure(error: unknown, stateDir: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (!code || !STATE_DIR_CODES.has(code)) return error;
  const path = (error as NodeJS.ErrnoException).path ?? stateDir;
  return new ConfigError([{ path: 'state_dir', message: `cannot use ${stateDir} for locks and run history: ${code} on ${path}` }], { cause: error });
}
