import { z } from 'zod';
import { flag, text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const LocalOptions = lazySchema(() =>
  z.object({
    path: text('Folder to store backups in (a mounted disk, NFS share, USB drive...).'),
    create: flag(
      'Create the folder when it is missing. Off by default: a missing folder usually means an unmounted drive, and filling the root file system instead is worse than failing.',
    ).optional(),
    fsync: flag('fsync each stored file and its folder before it counts as stored (default 1).').optional(),
  }),
);
export type LocalOptions = z.output<ReturnType<typeof LocalOptions>>;
