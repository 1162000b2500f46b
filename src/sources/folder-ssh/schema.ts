import { z } from 'zod';
import { FolderOptions } from '../folder/schema.js';
import { lazySchema } from '../../plugin.js';
import { SshConnectionShape } from '../ssh/schema.js';

export const FolderSshOptions = lazySchema(() => {
  const folder = FolderOptions().shape;
  return z.object({
    ...SshConnectionShape(),
    ...folder,
    path: folder.path.describe(
      'File or folder on sshhost to back up; stored as ./<basename> relative to its parent (as the local folder source does; a symbolic link is followed: what it points to is stored, under its own name). Relative paths start in the SSH user\'s home.',
    ),
    sudo: folder.sudo.describe('Run tar on sshhost through "sudo -n" (needs a NOPASSWD sudoers rule for tar there).'),
    tar_command: folder.tar_command.describe('The tar program on sshhost (default "tar"; GNU tar is expected).'),
  });
});
export type FolderSshOptions = z.output<ReturnType<typeof FolderSshOptions>>;
