/**
 * The members of a tar archive as GNU tar lists them (`tar -tvv --full-time --numeric-owner
 * --quoting-style=escape`), and the path patterns `files`, `restore --path` and the spot check
 * hand to tar. Patterns are GNU tar's own `--wildcards` matching (anchored, `*` also matches
 * `/`, a folder's name matches everything under it), against the paths as `backup files` prints
 * them (`data/sub/*.txt`): a leading `./` or `/` is optional, and is put back when the archive's
 * names start with `./` (as the folder source and the original tool write them).
 */
import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';

export interface TarMember {
  /** The member name as stored (`./data/sub/b.txt`). */
  name: string;
  /** `-` regular file, `d` folder, `l` symlink, `h` hard link, `c`/`b` devices, `p` fifo, ... */
  type: string;
  /** `rw-r--r--` and the like (with s/t bits as tar shows them). */
  mode: string;
  owner: string;
  size: number;
  /** ISO 8601 UTC. */
  mtime: string;
  /** Symlink or hard-link target. */
  target?: string;
}

/** Environment for tar: UTF-8 names printed as they are, times in UTC. */
export function tarEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' };
}

export const TAR_LIST_ARGS = ['-tvv', '--full-time', '--numeric-owner', '--quoting-style=escape', '-f', '-'];

const ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, "'": 39, '?': 63, ' ': 32 };

/** Undoes tar's `escape` quoting: `\303\274` (UTF-8 bytes in octal), `\n`, `\\`. */
export function decodeTarName(text: string): string {
  if (!text.includes('\\')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1))?.[0];
      if (octal) {
        bytes.push(parseInt(octal, 8));
        i += octal.length;
        continue;
      }
      const known = ESCAPES[text[i + 1]!];
      if (known !== undefined) {
        bytes.push(known);
        i++;
        continue;
      }
    }
    bytes.push(...Buffer.from(ch, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

// -rw-r--r-- 0/0     13 2026-11-29 03:24:27 ./data/hello.txt
// crw-rw-rw- 0/0    1,3 2026-11-29 03:24:27 ./dev/null
const LINE = /^(\S)(\S{9})\s+(\S+)\s+(\d+|\d+,\s*\d+)\s+(\d{4}-\d\d-\d\d) (\d\d:\d\d(?::\d\d)?)(?:\.\d+)? +(.*)$/;

/** One line of the verbose listing; undefined for lines that are not members (tar's notes). */
export function parseTarLine(line: string): TarMember | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, type = '', mode = '', owner = '', size = '', date = '', time = '', name = ''] = m;
  let rest = name;
  let target: string | undefined;
  if (type === 'l') {
    const at = rest.indexOf(' -> ');
    if (at >= 0) [rest, target] = [rest.slice(0, at), rest.slice(at + 4)];
  } else if (type === 'h') {
    const at = rest.indexOf(' link to ');
    if (at >= 0) [rest, target] = [rest.slice(0, at), rest.slice(at + 9)];
  }
  return {
    name: decodeTarName(rest),
    type: type!,
    mode: mode!,
    owner: owner!,
    size: size!.includes(',') ? 0 : Number(size),
    mtime: `${date}T${time!.length === 5 ? `${time}:00` : time}Z`,
    target: target === undefined ? undefined : decodeTarName(target),
  };
}

/** The member name as `backup files` shows it and patterns are written: without `./`. */
export function displayName(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/^\/+/, '') || '.';
}

/** A pattern as the operator wrote it, fit for the archive's naming. */
export function tarPattern(pattern: string, dotSlash: boolean): string {
  const bare = displayName(pattern.replace(/\/+$/, ''));
  return dotSlash ? `./${bare}` : bare;
}

/** tar arguments selecting the members that match `patterns` (after every option). */
export function patternArgs(patterns: readonly string[], dotSlash: boolean): string[] {
  if (patterns.length === 0) return [];
  return ['--wildcards', '--', ...patterns.map((p) => tarPattern(p, dotSlash))];
}

/** tar's "PATTERN: Not found in archive" lines, as the operator wrote the patterns. */
export function unmatchedPatterns(stderr: string, patterns: readonly string[], dotSlash: boolean): string[] {
  const missing = new Set<string>();
  for (const line of stderr.split('\n')) {
    const m = /^tar: (.*): Not found in archive$/.exec(line.trim());
    if (m) missing.add(decodeTarName(m[1]!));
  }
  return patterns.filter((p) => missing.has(tarPattern(p, dotSlash)));
}

/**
 * Reads the first tar header of `stream` (and puts it back) to learn whether the archive's names
 * start with `./`. An archive too short to tell is taken as `./` (the folder source's naming).
 */
export async function namesStartWithDotSlash(stream: Readable): Promise<boolean> {
  const head = await peek(stream, 512);
  if (head.length < 512) return true;
  const field = (from: number, to: number) => {
    const raw = head.subarray(from, to);
    const nul = raw.indexOf(0);
    return raw.subarray(0, nul < 0 ? raw.length : nul).toString('utf8');
  };
  const isUstar = field(257, 262) === 'ustar';
  const prefix = isUstar ? field(345, 500) : '';
  const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
  return name.startsWith('./') || name === '.';
}

async function peek(stream: Readable, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < bytes && !stream.destroyed && !stream.readableEnded) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      length += chunk.length;
      continue;
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        stream.off('readable', done);
        stream.off('end', done);
        stream.off('error', done);
        stream.off('close', done);
        resolve();
      };
      stream.on('readable', done);
      stream.on('end', done);
      stream.on('error', done);
      stream.on('close', done);
    });
  }
  const head = Buffer.concat(chunks, length);
  if (head.length > 0 && !stream.destroyed) stream.unshift(head);
  return head;
}

/**
 * Feeds `stream` into the program's stdin; when the stream fails (a damaged file, a lost
 * connection), the program is stopped, or it would wait for more input forever.
 */
export function feedOrStop(feed: Promise<number>, program: { child: { kill(signal?: NodeJS.Signals): boolean } }): Promise<number> {
  return feed.catch((error: unknown) => {
    program.child.kill('SIGTERM');
    throw error;
  });
}

/** The one tar archive of a run's files (`data.tar.zst.gpg`), or a usage error naming what it has. */
export function pickTarFile<T extends { file: string }>(files: readonly T[], plain: (file: string) => string, what: string): T[] {
  const tars = files.filter((f) => plain(f.file).endsWith('.tar'));
  if (tars.length === 0) throw new UsageError(`${what} holds no tar archive (has: ${files.map((f) => plain(f.file)).join(', ') || 'nothing'})`);
  return tars;
}
