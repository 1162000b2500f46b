/**
 * `folder`: GNU tar of a path, streamed. tar's exit 1 ("file changed as we read it") is a
 * warning, as GNU tar documents it; any other failure fails the artifact.
 */
import { defineSource } from '../types.js';
import { FolderOptions } from './schema.js';

export const folderSource = defineSource({
  type: 'folder',
  description: 'A local file or folder, archived with GNU tar.',
  get options() {
    return FolderOptions();
  },
  create: async (options) => (await import('./create.js')).create(options),
});
