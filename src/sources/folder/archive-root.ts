/**
 * The file or folder a folder source archives: its path with every symbolic link resolved.
 *
 * tar stores a symbolic link given on its command line as the link itself: with `path` a link
 * to a folder (`/var/www` → `/srv/www`), every run would store one link and no file, and report
 * success. The resolved path is archived instead, under its own name (`./www`), and the spot
 * check compares against the same folder.
 */
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';

export async function archiveRoot(path: string): Promise<string> {
  const absolute = resolve(path);
  // A path that cannot be resolved (missing, unreadable) is left as it is: the source's check,
  // or tar itself, reports it.
  return realpath(absolute).catch(() => absolute);
}
