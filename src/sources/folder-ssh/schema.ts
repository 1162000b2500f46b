import { z } from 'zod';
import { FolderOptions } from '../folder/schema.js';
import { SshConnectionShape } from '../ssh/schema.js';

export const FolderSshOptions = z.object({
  ...SshConnectionShape,
  ...FolderOptions.shape,
  path: FolderOptions.shape.path.describe(
    'File or folder on sshhost to back up; stored as ./<basename> relative to its parent (as the local folder source does). Relative paths start in the SSH user\'s home.',
  ),
  sudo: FolderOptions.shape.sudo.describe('Run tar on sshhost through "sudo -n" (needs a NOPASSWD sudoers rule for tar there).'),
  tar_command: FolderOptions.shape.tar_command.describe('The tar program on sshhost (default "tar"; GNU tar is expected).'),
});
export type FolderSshOptions = z.output<typeof FolderSshOptions>;
