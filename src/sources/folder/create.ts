/**
 * The folder source's instance: GNU tar of a path, streamed. Loaded only when a job uses the
 * source (index.ts declares it).
 */
import { opendir, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { archiveRoot } from './archive-root.js';
import { SourceError, describeSystemError, isSystemError } from '../../errors.js';
import { spawnProgram, stdoutOf } from '../../lib/process.js';
import type { Artifact, Source, SourceOptions } from '../types.js';
import type { FolderOptions } from './schema.js';
import { TOTALS_FLAG, tarArtifact } from './totals.js';

/**
 * tar arguments archiving `target` as `./<basename>` from its parent folder, with totals (also
 * used by folder-ssh). `--sparse`: a file with holes (a VM disk image, a sparse database file)
 * is stored with its map of holes, and extraction makes the holes again, so a restore needs the
 * disk space the original took, not the file's full length. tar asks the file system for holes
 * only when a file has fewer blocks than its length: other files cost nothing more.
 */
export function tarArguments(target: string, excludes: readonly string[]): string[] {
  const args = ['-C', dirname(target), '-cf', '-', '--sparse', TOTALS_FLAG];
  for (const pattern of excludes) args.push(`--exclude=${pattern}`);
  args.push(`./${basename(target)}`);
  return args;
}

/**
 * An empty folder is stored like any other, but it is also what an unmounted mount point looks
 * like: the run says so in a warning rather than reporting a plain success every night.
 */
async function isEmptyFolder(path: string): Promise<boolean> {
  // One entry read, not the whole listing: a spool folder may hold millions.
  const dir = await opendir(path).catch(() => undefined);
  if (!dir) return false;
  try {
    return (await dir.read()) === null;
  } finally {
    await dir.close().catch(() => undefined);
  }
}

export function create(options: SourceOptions<ReturnType<typeof FolderOptions>>): Source {
  const target = resolve(options.path);
  const command = options.tar_command ?? 'tar';
  const check = async () => {
    await stat(target).catch((error: unknown) => {
      const why = isSystemError(error) ? describeSystemError(error) : `${target}: ${String(error)}`;
      throw new SourceError(`cannot read ${why}`, { plugin: options.id });
    });
  };
  return {
    check,
    async *open(ctx): AsyncIterable<Artifact> {
      await check();
      const root = await archiveRoot(target);
      if (basename(root) !== basename(target)) ctx.logger.info({ source: options.id }, `${target} is a symbolic link: archiving ${root}, stored as ./${basename(root)}`);
      const tarArgs = tarArguments(root, options.excludes ?? []);
      // Before tar starts: nothing may be awaited between its start and the yield (see
      // storeArtifact: Node throws away a program's output that nobody reads when it exits).
      const empty = await isEmptyFolder(root);
      const [cmd, args] = options.sudo ? ['sudo', ['-n', command, ...tarArgs]] : [command, tarArgs];
      const tar = spawnProgram(cmd, args, { plugin: options.id, label: 'tar', warnOn: [1], signal: ctx.signal });
      const artifact = tarArtifact(`${options.id}.tar`, stdoutOf(tar), tar);
      if (empty) artifact.warnings!.push(`${root} is an empty folder: the run stores no file of it (if a file system should be mounted there, it is not)`);
      yield artifact;
    },
  };
}
