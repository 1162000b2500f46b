/**
 * Writing a file so that no reader ever sees it half-written: the data goes to a temporary name
 * in the same folder, which is then renamed over the file (atomic on one file system). A
 * failure, a full disk or a kill leaves the old file or none, never a torn one; the temporary
 * is removed when the write fails. The temporary's name starts with a dot and ends in `.tmp`,
 * so collectors reading `*.prom` or a folder of reports skip it.
 *
 * `mode` is the file's mode exactly: set with chmod, since the runner works under umask 077 and
 * a mode given to open() only loses bits to it (node_exporter, which reads the textfile as its
 * own user, could not read a 0600 file).
 */
import { randomBytes } from 'node:crypto';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { withPath } from '../errors.js';

export async function writeFileAtomically(file: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, data, options.mode === undefined ? {} : { mode: options.mode });
    if (options.mode !== undefined) await chmod(temp, options.mode);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw withPath(error, file);
  }
}
