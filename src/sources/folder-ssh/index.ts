/**
 * `folder-ssh`: GNU tar of a path on another host, run over SSH and streamed back. The same
 * tar arguments as the local `folder` source; tar's exit 1 ("file changed as we read it") is a
 * warning, any other exit status (or a lost connection) fails the artifact.
 */
import { SSH_SECRET_KEYS } from '../ssh/schema.js';
import { defineSource } from '../types.js';
import { FolderSshOptions } from './schema.js';

export const folderSshSource = defineSource({
  type: 'folder-ssh',
  description: 'A file or folder on another host, archived with GNU tar over SSH.',
  get options() {
    return FolderSshOptions();
  },
  secrets: SSH_SECRET_KEYS,
  create: async (options, ctx) => (await import('./create.js')).create(options, ctx),
});
