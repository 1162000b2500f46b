/**
 * `folder-ssh`: GNU tar of a path on another host, run over SSH and streamed back. The same
 * tar arguments as the local `folder` source; tar's exit 1 ("file changed as we read it") is a
 * warning, any other exit status (or a lost connection) fails the artifact.
 */
import { posix } from 'node:path';
import { SourceError } from '../../errors.js';
import { tarArguments } from '../folder/create.js';
import { tarArtifact } from '../folder/totals.js';
import { LazySshSession, type ErrorFactory } from '../../lib/ssh/connection.js';
import { shellCommand } from '../../lib/shell-words.js';
import { captureRemote, runRemote, withSudo } from '../ssh/remote-command.js';
import { SSH_SECRET_KEYS, sshTargetFromOptions } from '../ssh/schema.js';
import { defineSource, type Artifact } from '../types.js';
import { FolderSshOptions } from './schema.js';

export const folderSshSource = defineSource({
  type: 'folder-ssh',
  description: 'A file or folder on another host, archived with GNU tar over SSH.',
  options: FolderSshOptions,
  secrets: SSH_SECRET_KEYS,
  create(options, { job }) {
    const fail: ErrorFactory = (message, errorOptions) => new SourceError(message, { plugin: options.id, ...errorOptions });
    const ssh = new LazySshSession(sshTargetFromOptions(options, job), fail);
    const target = posix.normalize(options.path);
    const tar = options.tar_command ?? 'tar';

    const check = async () => {
      try {
        const session = await ssh.get();
        const test = shellCommand(withSudo(['test', '-r', target], options.sudo));
        await captureRemote(session, test, { label: 'test' }).catch((error: unknown) => {
          throw fail(`${target} does not exist on ${session.where} or is not readable${options.sudo ? ' with sudo -n' : ''}`, { cause: error });
        });
      } finally {
        await ssh.close();
      }
    };

    return {
      check,
      async *open(ctx): AsyncIterable<Artifact> {
        const session = await ssh.get();
        const argv = withSudo([tar, ...tarArguments(target, options.excludes ?? [])], options.sudo);
        const program = await runRemote(session, shellCommand(argv), { label: 'tar', warnOn: [1], signal: ctx.signal });
        yield tarArtifact(`${options.id}.tar`, program.stdout, program);
      },
      async cleanup() {
        await ssh.close();
      },
    };
  },
});
