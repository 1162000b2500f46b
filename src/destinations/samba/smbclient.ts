/**
 * Running Samba's smbclient for the samba destination: one process per operation, commands given
 * with -c, the password in a 0600 authentication file (-A) in a private temp folder that is
 * removed when the process ends (never in argv or the environment; the folder's name records
 * this process, so sweepTempFolders removes it after a kill -9), and the parsing of its
 * output. smbclient reports most failures as `NT_STATUS_...` lines and, with several commands,
 * exits with the status of the last one only, so the output is read, not just the exit code.
 *
 * Facts checked against smbclient 4.17 (Debian 12): `put - NAME` reads the file from stdin
 * (streaming, no size needed); `get NAME -` writes the file to stdout, but prints its error
 * messages there too (after the data); `rename A B -f` replaces B; `recurse; ls "dir/*"` lists
 * the folder, then each subfolder under a `\path\from\share\root` heading.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redact } from '../../secrets.js';
import { notFoundMessage } from '../../lib/process.js';
import { makeRunTempDir } from '../../lib/temp-dir.js';

export interface SmbConnection {
  host: string;
  share: string;
  port?: number;
  workgroup?: string;
  username: string;
  password: string;
  /** The smbclient program (a test seam; default `smbclient` from PATH). */
  command?: string;
}

export interface SmbRun {
  child: ChildProcess;
  /** Settles when smbclient exited (it never rejects): exit status and all its output. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; spawnError?: string }>;
}

export interface SmbRunOptions {
  /** Pipe for stdin (for `put - NAME`). */
  stdin?: boolean;
  /** stdout carries file data (`get NAME -`): it is left to the caller, not collected. */
  stdoutIsData?: boolean;
}

export const quote = (name: string) => `"${name}"`;

function authFileText(c: SmbConnection): string {
  if (/[\r\n]/.test(c.username) || /[\r\n]/.test(c.password) || /[\r\n]/.test(c.workgroup ?? '')) {
    throw new Error('the username, password and workgroup must be single lines');
  }
  // smbclient skips spaces after "=": a password starting with a space cannot be given this way.
  return `username = ${c.username}\npassword = ${c.password}\n${c.workgroup ? `domain = ${c.workgroup}\n` : ''}`;
}

/** Starts smbclient with `commands` (joined with ";"). The auth file lives until it exits. */
export async function runSmbclient(c: SmbConnection, commands: readonly string[], options: SmbRunOptions = {}): Promise<SmbRun> {
  // Named after this process, so a run killed with kill -9 leaves a folder the next run sweeps.
  const dir = await makeRunTempDir(tmpdir(), 'backup-runner-smb-');
  const auth = join(dir, 'auth');
  try {
    await writeFile(auth, authFileText(c), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const args = [`//${c.host}/${c.share}`, '-A', auth, ...(c.port ? ['-p', String(c.port)] : []), '-c', commands.join('; ')];
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
  // smbclient also reads a password from these; the job file's account must be the one used.
  for (const name of ['PASSWD', 'PASSWD_FD', 'PASSWD_FILE', 'USER', 'LOGNAME']) delete env[name];
  const command = c.command ?? 'smbclient';
  const child = spawn(command, args, {
    env,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  if (!options.stdoutIsData) child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; spawnError?: string }>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      const spawnError = error.code === 'ENOENT' ? notFoundMessage(command) : `${command} could not start: ${error.message}`;
      resolve({ code: null, signal: null, output, spawnError });
    });
    child.once('close', (code, signal) => resolve({ code, signal, output: redact(output), spawnError: undefined }));
  }).finally(() => rm(dir, { recursive: true, force: true }));
  return { child, exit };
}

/** Ends smbclient (an aborted transfer) and waits for it. */
export async function killSmbclient(run: SmbRun): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  await run.exit;
}

const NOT_FOUND = /NT_STATUS_(OBJECT_NAME_NOT_FOUND|OBJECT_PATH_NOT_FOUND|NO_SUCH_FILE|NOT_FOUND)\b/;

/** Whether the output says the file or folder does not exist. */
export function saysNotFound(output: string): boolean {
  return NOT_FOUND.test(output);
}

/** Failures that concern the whole connection (nothing else in the output matters then). */
export function connectionFailure(output: string): boolean {
  return /session setup failed|tree connect failed|Connection to .* failed|NT_STATUS_(LOGON_FAILURE|BAD_NETWORK_NAME|CONNECTION_REFUSED|IO_TIMEOUT|HOST_UNREACHABLE|NETWORK_UNREACHABLE)/.test(output);
}

/** NT_STATUS lines except the ones an operation expects (a folder that exists, a file already gone). */
export function unexpectedStatusLines(output: string, expected: RegExp): string[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /NT_STATUS_\w+/.test(line) && !expected.test(line));
}

export interface SmbPlace {
  host: string;
  port?: number;
  share: string;
  username: string;
}

/** One sentence for the operator from smbclient's output. Never holds the password. */
export function explainSmbOutput(output: string, place: SmbPlace): string {
  const status = /NT_STATUS_[A-Z0-9_]+/.exec(output)?.[0];
  const where = `${place.host}:${place.port ?? 445}`;
  if (/NT_STATUS_(LOGON_FAILURE|WRONG_PASSWORD|NO_SUCH_USER|ACCOUNT_DISABLED|ACCOUNT_LOCKED_OUT|ACCOUNT_RESTRICTION|PASSWORD_EXPIRED)/.test(output)) {
    return `${where} refused the login of user "${place.username}" (${status}): check the username, the password and the workgroup`;
  }
  if (/NT_STATUS_BAD_NETWORK_NAME/.test(output)) return `share "${place.share}" does not exist on ${place.host} (NT_STATUS_BAD_NETWORK_NAME): check "share"`;
  if (/NT_STATUS_(CONNECTION_REFUSED|IO_TIMEOUT|HOST_UNREACHABLE|NETWORK_UNREACHABLE|CONNECTION_RESET)|Connection to .* failed/.test(output)) {
    return `cannot reach ${where} (${status ?? 'connection failed'}): check "host", "port", DNS, the network and firewalls`;
  }
  if (/NT_STATUS_ACCESS_DENIED/.test(output)) {
    return `access denied on //${place.host}/${place.share} (NT_STATUS_ACCESS_DENIED): user "${place.username}" needs read and write permission on the share and its folder`;
  }
  if (/NT_STATUS_DISK_FULL/.test(output)) return `the share //${place.host}/${place.share} is full (NT_STATUS_DISK_FULL)`;
  const line = output
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.includes('NT_STATUS_'));
  return line ?? (output.trim().split('\n').slice(-2).join(' | ') || 'smbclient failed without a message');
}

export interface ListedFile {
  /** Path from the share's root, "/"-separated. */
  path: string;
  size: number;
  lastModified?: Date;
}

const ENTRY = /^ {2}(.+?)\s+([A-Z]*)\s+(\d+)\s+(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})$/;

/**
 * Files in the output of `recurse; ls "folder/*"`: the first block is `folder` itself, each
 * later block starts with its folder's path from the share root (`\a b\c d`). Names may hold
 * spaces; the attribute, size and date columns are read from the end of the line.
 */
export function parseRecursiveListing(output: string, folder: string): ListedFile[] {
  const files: ListedFile[] = [];
  let current = folder;
  for (const line of output.split('\n')) {
    if (line.startsWith('\\')) {
      current = line.slice(1).replace(/\r$/, '').split('\\').join('/');
      continue;
    }
    const m = ENTRY.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    // Every group of ENTRY takes part in a match: the defaults only give the strings their type.
    const [, name = '', attributes = '', size = '', date = ''] = m;
    if (name === '.' || name === '..' || attributes.includes('D')) continue;
    const when = new Date(date);
    files.push({ path: current ? `${current}/${name}` : name, size: Number(size), lastModified: Number.isNaN(when.getTime()) ? undefined : when });
  }
  return files;
}
