/**
 * `folder`: GNU tar of a path, streamed. tar's exit 1 ("file changed as we read it") is a
 * warning, as GNU tar documents it; any other failure fails the artifact.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { SourceError, describeSystemError, isSystemError } from '../../errors.js';
import { spawnProgram, stdoutOf } from '../../lib/process.js';
import { defineSource, type Artifact } from '../types.js';
import { FolderOptions } from './schema.js';
import { TOTALS_FLAG, tarArtifact } from './totals.js';

/** tar arguments archiving `target` as `./<basename>` from its parent folder, with totals (also used by folder-ssh). */
export function tarArguments(target: string, excludes: readonly string[]): string[] {
  const args = ['-C', dirname(target), '-cf', '-', TOTALS_FLAG];
  for (const pattern of excludes) args.push(`--exclude=${pattern}`);
  args.push(`./${basename(target)}`);
  return args;
}

export const folderSource = defineSource({
  type: 'folder',
  description: 'A local file or folder, archived with GNU tar.',
  options: FolderOptions,
  create(options) {
    const target = resolve(options.path);
    const tarArgs = () => tarArguments(target, options.excludes ?? []);
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
        const [cmd, args] = options.sudo ? ['sudo', ['-n', command, ...tarArgs()]] : [command, tarArgs()];
        const tar = spawnProgram(cmd, args, { plugin: options.id, label: 'tar', warnOn: [1], signal: ctx.signal });
        yield tarArtifact(`${options.id}.tar`, stdoutOf(tar), tar);
      },
    };
  },
});
