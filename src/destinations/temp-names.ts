/**
 * The hidden temporary name a file-like destination (local, sftp, samba) uploads to before it
 * renames the file into place: `.NAME.partial-<hex>` beside NAME. `list` never shows such names;
 * `listPartial` reads the final name back from them (a put killed mid-way leaves one behind).
 */
import { randomBytes } from 'node:crypto';

export const PARTIAL_MARK = '.partial-';
const PARTIAL_NAME = /^\.(.+)\.partial-[0-9a-f]+$/;

/** A fresh temporary name for the file `name` (a name, not a path). */
export function partialNameFor(name: string): string {
  return `.${name}${PARTIAL_MARK}${randomBytes(6).toString('hex')}`;
}

/** The final name a temporary name stands for, or undefined when `name` is not one. */
export function finalNameOf(name: string): string | undefined {
  return PARTIAL_NAME.exec(name)?.[1];
}

/** Whether a name is a temporary upload (hidden from `list`). */
export function isPartialName(name: string): boolean {
  return name.includes(PARTIAL_MARK);
}
