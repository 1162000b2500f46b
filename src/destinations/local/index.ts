/**
 * `local`: a folder on this machine. Atomic put: write to a hidden temporary name in the
 * target folder, fsync, rename, fsync the folder.
 */
import { defineDestination } from '../types.js';
import { LocalOptions } from './schema.js';

export const localDestination = defineDestination({
  type: 'local',
  description: 'A folder on this machine (local disk, mounted NFS/SMB share, USB drive).',
  get options() {
    return LocalOptions();
  },
  create: async (options) => (await import('./create.js')).create(options),
});
