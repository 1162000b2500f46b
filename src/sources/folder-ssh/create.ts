/**
 * The folder-ssh source's instance: tar on the SSH host, its output streamed back. Loaded only
 * when a job uses the source (index.ts declares it).
 */
import { posix } from 'node:path';
import { SourceError } from '../../errors.js';
import type { CreateContext } from '../../plugin.js';
import { tarArguments } from '../folder/create.js';
import { tarArtifact } from '../folder/totals.js';
import { LazySshSession, type ErrorFactory, type SshSession } from '../../lib/ssh/connection.js';
import { shellCommand } from '../../lib/shell-words.js';
import { captureRemote, runRemote, withSudo } from '../ssh/remote-command.js';
import { sshTargetFromOptions } from '../ssh/target.js';
import type { Artifact, Source, SourceOptions } from '../types.js';
import type { FolderSshOptions } from './schema.js';

export function create(options: SourceOptions<ReturnType<typeof FolderSshOptions>>, { job }: CreateContext): Source {
  const fail: ErrorFactory = (message, errorOptions) => new SourceError(message, { plugin: options.id, ...errorOptions });
  const ssh = new LazySshSession(sshTargetFromOptions(options, job), fail);
  const target = posix.normalize(options.path);
  const tar = options.tar_command ?? 'tar';

  const check = async () => {
    try {
      const session = await ssh.get();
      // Through sudo, the configured tar itself on the path alone (--no-recursion: one stat,
      // whatever the tree's size): the one program the documented sudoers rule allows, where
      // `sudo -n test` would be refused and logged as an incident.
      const argv = options.sudo ? withSudo([tar, '-C', posix.dirname(target), '-cf', '/dev/null', '--no-recursion', `./${posix.basename(target)}`], true) : ['test', '-r', target];
      await captureRemote(session, shellCommand(argv), { label: options.sudo ? 'sudo tar (check)' : 'test' }).catch((error: unknown) => {
        throw fail(`${target} does not exist on ${session.where} or is not readable${options.sudo ? ' with sudo -n' : ''}`, { cause: error });
      });
    } finally {
      await ssh.close();
    }
  };

  /**
   * The path with its symbolic links resolved on the host (`readlink -f`), as the local folder
   * source does (../folder/archive-root.ts): tar would store a link given as the path as the
   * link alone. Where readlink cannot resolve it (a missing path), the path as given: tar then
   * reports it. Never through sudo: the sudoers rule allows tar alone, and a refused sudo is
   * logged (and often mailed) as a security incident.
   */
  const resolvedOnHost = async (session: SshSession, path: string): Promise<string> => {
    const printed = await captureRemote(session, shellCommand(['readlink', '-f', '--', path]), { label: 'readlink' }).catch(() => '');
    const resolved = printed.endsWith('\n') ? printed.slice(0, -1) : printed;
    return resolved.startsWith('/') ? resolved : path;
  };

  /** As the local folder source warns: an empty folder is what an unmounted mount point looks like. */
  const isEmptyFolderOnHost = async (session: SshSession, path: string): Promise<boolean> => {
    const printed = await captureRemote(session, shellCommand(['find', path, '-maxdepth', '0', '-type', 'd', '-empty']), { label: 'find' }).catch(() => '');
    return printed.trim().length > 0;
  };

  return {
    check,
    async *open(ctx): AsyncIterable<Artifact> {
      const session = await ssh.get();
      const root = await resolvedOnHost(session, target);
      if (posix.basename(root) !== posix.basename(target)) ctx.logger.info({ source: options.id }, `${target} is a symbolic link on ${session.where}: archiving ${root}, stored as ./${posix.basename(root)}`);
      const argv = withSudo([tar, ...tarArguments(root, options.excludes ?? [])], options.sudo);
      const empty = await isEmptyFolderOnHost(session, root);
      const program = await runRemote(session, shellCommand(argv), { label: 'tar', warnOn: [1], signal: ctx.signal });
      const artifact = tarArtifact(`${options.id}.tar`, program.stdout, program);
      if (empty) artifact.warnings!.push(`${root} on ${session.where} is an empty folder: the run stores no file of it (if a file system should be mounted there, it is not)`);
      yield artifact;
    },
    async cleanup() {
      await ssh.close();
    },
  };
}
