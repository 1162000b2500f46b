import { z } from 'zod';
import { flag, text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const FolderOptions = lazySchema(() =>
  z.object({
    path: text('File or folder to back up; stored as ./<basename> relative to its parent, as the original did. A symbolic link is followed: what it points to is stored, under its own name.'),
    excludes: z
      .union([z.string().min(1), z.array(z.string().min(1))])
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .optional()
      .describe('Patterns passed to tar as --exclude (e.g. "tmp", "*~").'),
    sudo: flag('Run tar through "sudo -n" (needs a sudoers rule for tar, as the original README shows).').optional(),
    tar_command: z.string().min(1).optional().describe('The tar program (default "tar"; GNU tar is expected).'),
  }),
);
export type FolderOptions = z.output<ReturnType<typeof FolderOptions>>;
