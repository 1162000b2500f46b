/**
 * The sftp destination's instance: a folder on an SSH server over SFTP (ssh2), one connection
 * reused and closed when idle. Loaded only when a job uses the destination (index.ts declares it).
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Callback, SFTPWrapper, Stats } from 'ssh2';
import { DestinationError, ObjectNotFoundError, type BackupErrorOptions } from '../../errors.js';
import { connectSsh, sshTargetOf, type SshSession, type SshTarget } from '../../lib/ssh/connection.js';
import type { CreateContext } from '../../plugin.js';
import type { Destination, DestinationOptions, PartialUpload, StoredObject } from '../types.js';
import type { SftpOptions } from './schema.js';
import { SftpDownload, SftpUpload, blockSizes } from './transfer.js';
import { finalNameOf, isPartialName, partialNameFor } from '../temp-names.js';

/** An idle connection is closed after this long and reopened on demand. */
const IDLE_CLOSE_MS = 5000;

// SFTP status codes (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks).
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

type SftpError = Error & { code?: number | string };

function codeOf(error: unknown): number | string | undefined {
  return (error as SftpError | undefined)?.code;
}

/** Promise wrapper for ssh2's callback API, for requests that answer with a value. */
function call<T>(fn: (callback: (error: Error | undefined | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((error, value) => (error ? reject(error) : resolve(value)));
  });
}

/** The same for requests that answer with a status only (ssh2's `Callback`). */
function done(fn: (callback: Callback) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    fn((error) => (error ? reject(error) : resolve()));
  });
}

function hasExtension(sftp: SFTPWrapper, name: string): boolean {
  const extensions = (sftp as unknown as { _extensions?: Record<string, string> })._extensions;
  return extensions?.[name] !== undefined;
}

export function create(options: DestinationOptions<ReturnType<typeof SftpOptions>>, { job }: CreateContext): Destination {
  const fail = (message: string, errorOptions: BackupErrorOptions = {}) => new DestinationError(message, { plugin: options.id, ...errorOptions });
  const target: SshTarget = sshTargetOf(
    {
      host: options.host,
      port: options.port,
      user: options.user,
      identityFile: options.identity_file,
      password: options.password,
      knownHosts: options.known_hosts,
      connectTimeoutSeconds: options.connect_timeout,
    },
    job,
  );
  const root = posix.normalize(options.path).replace(/(.)\/+$/, '$1');
  const doSync = options.fsync ?? true;
  const where = `${target.host}${target.port === 22 ? '' : `:${target.port}`}:${root}`;

  let connection: Promise<{ session: SshSession; sftp: SFTPWrapper }> | undefined;
  let rootChecked = false;
  const knownDirs = new Set<string>();

  // Idle connections are closed after a few seconds and reopened on demand, so a long dump
  // between two uses never finds a connection a firewall dropped meanwhile, and a caller
  // that forgets close() does not keep the process alive.
  let active = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const disconnect = async () => {
    const current = connection;
    connection = undefined;
    const open = await current?.catch(() => undefined);
    if (open) {
      open.sftp.end();
      await open.session.close();
    }
  };
  const begin = () => {
    active++;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
  };
  const end = () => {
    active--;
    if (active > 0) return;
    idleTimer = setTimeout(() => void disconnect(), IDLE_CLOSE_MS);
    idleTimer.unref();
  };
  const busy = async <T>(work: () => Promise<T>): Promise<T> => {
    begin();
    try {
      return await work();
    } finally {
      end();
    }
  };

  const connect = async () => {
    const session = await connectSsh(target, fail);
    try {
      const sftp = await call<SFTPWrapper>((cb) => session.client.sftp(cb));
      sftp.on('error', () => undefined);
      return { session, sftp };
    } catch (error) {
      await session.close();
      throw fail(`${session.where} does not offer SFTP (is the sftp subsystem enabled in sshd_config?): ${(error as Error).message}`, { cause: error });
    }
  };

  const sftpOf = async (): Promise<SFTPWrapper> => {
    if (connection) {
      const current = await connection.catch(() => undefined);
      if (current && current.session.isOpen) return current.sftp;
      connection = undefined;
    }
    const opening = connect();
    connection = opening;
    opening.catch(() => {
      if (connection === opening) connection = undefined;
    });
    return (await opening).sftp;
  };

  const pathOf = (key: string) => {
    if (key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.')) throw fail(`key ${key} leaves the destination folder`);
    return root === '.' ? key : `${root}/${key}`;
  };

  const stat = async (sftp: SFTPWrapper, path: string): Promise<Stats | undefined> => {
    try {
      return await call<Stats>((cb) => sftp.stat(path, cb));
    } catch (error) {
      if (codeOf(error) === NO_SUCH_FILE) return undefined;
      throw error;
    }
  };

  const describeSftpError = (action: string, error: unknown) => {
    const code = codeOf(error);
    const reason = code === PERMISSION_DENIED ? 'permission denied' : (error as Error).message;
    return fail(`${action} on ${where} failed: ${reason}`, { cause: error });
  };

  const ensureRoot = async (sftp: SFTPWrapper) => {
    if (rootChecked) return;
    const found = await stat(sftp, root);
    if (found && !found.isDirectory()) throw fail(`${root} on ${target.host} is not a folder`);
    if (!found) {
      if (!options.create) throw fail(`${root} does not exist on ${target.host} (is the disk mounted there? set "create": 1 to create it)`);
      await mkdirs(sftp, root);
    }
    knownDirs.add(root);
    rootChecked = true;
  };

  async function mkdirs(sftp: SFTPWrapper, dir: string): Promise<void> {
    if (knownDirs.has(dir) || dir === '.' || dir === '/' || dir === '') return;
    const found = await stat(sftp, dir);
    if (found) {
      if (!found.isDirectory()) throw fail(`${dir} on ${target.host} is not a folder`);
      knownDirs.add(dir);
      return;
    }
    await mkdirs(sftp, posix.dirname(dir));
    try {
      await done((cb) => sftp.mkdir(dir, { mode: 0o700 }, cb));
    } catch (error) {
      // Created meanwhile by a parallel put is fine.
      const again = await stat(sftp, dir);
      if (!again?.isDirectory()) throw describeSftpError(`creating folder ${dir}`, error);
    }
    knownDirs.add(dir);
  }

  /** Every file under `dir`, temporary uploads included, with its key. */
  async function* walkFiles(sftp: SFTPWrapper, dir: string): AsyncIterable<{ name: string; key: string; attrs: Stats }> {
    let entries;
    try {
      entries = await call<{ filename: string; attrs: Stats }[]>((cb) => sftp.readdir(dir, cb));
    } catch (error) {
      if (codeOf(error) === NO_SUCH_FILE) return;
      throw describeSftpError(`listing ${dir}`, error);
    }
    for (const entry of entries) {
      if (entry.filename === '.' || entry.filename === '..') continue;
      const full = dir === '.' ? entry.filename : `${dir}/${entry.filename}`;
      if (entry.attrs.isDirectory()) yield* walkFiles(sftp, full);
      else if (entry.attrs.isFile()) yield { name: entry.filename, key: root === '.' ? full : full.slice(root.length + 1), attrs: entry.attrs };
    }
  }

  /** The files under the deepest folder `prefix` names, the connection held meanwhile. */
  async function* filesUnder(prefix: string): AsyncIterable<{ name: string; key: string; attrs: Stats }> {
    begin();
    try {
      const sftp = await sftpOf();
      const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
      yield* walkFiles(sftp, folder ? pathOf(folder) : root);
    } finally {
      end();
    }
  }

  /** Removes the run folders above `path` left empty, never the root itself. */
  async function removeEmptyFolders(sftp: SFTPWrapper, path: string): Promise<void> {
    let dir = posix.dirname(path);
    while (dir !== root && (root === '.' ? dir !== '.' : dir.startsWith(`${root}/`))) {
      try {
        await done((cb) => sftp.rmdir(dir, cb));
        knownDirs.delete(dir);
      } catch {
        break;
      }
      dir = posix.dirname(dir);
    }
  }

  return {
    check: () => busy(async () => {
      const sftp = await sftpOf();
      await ensureRoot(sftp);
      // Proves write permission; the probe is removed at once.
      const probe = `${root}/${partialNameFor('backup-runner-check')}`;
      try {
        const handle = await call<Buffer>((cb) => sftp.open(probe, 'wx', { mode: 0o600 }, cb));
        await done((cb) => sftp.close(handle, cb));
      } catch (error) {
        throw describeSftpError(`writing in ${root}`, error);
      } finally {
        await done((cb) => sftp.unlink(probe, cb)).catch(() => undefined);
      }
    }),

    put: (key: string, body: Readable, { signal }) => busy(async () => {
      const sftp = await sftpOf();
      await ensureRoot(sftp);
      const path = pathOf(key);
      const dir = posix.dirname(path);
      await mkdirs(sftp, dir);
      const temp = `${dir}/${partialNameFor(posix.basename(path))}`;
      let handle: Buffer | undefined;
      try {
        if (signal.aborted) throw signal.reason ?? new Error('aborted');
        handle = await call<Buffer>((cb) => sftp.open(temp, 'wx', { mode: 0o600 }, cb));
        const upload = new SftpUpload(sftp, handle, blockSizes(sftp).write);
        await pipeline(body, upload, { signal });
        if (doSync && hasExtension(sftp, 'fsync@openssh.com')) {
          const open = handle;
          await call<unknown>((cb) => sftp.ext_openssh_fsync(open, cb));
        }
        const open = handle;
        handle = undefined;
        await done((cb) => sftp.close(open, cb));
        if (hasExtension(sftp, 'posix-rename@openssh.com')) {
          await done((cb) => sftp.ext_openssh_rename(temp, path, cb));
        } else {
          // Plain SFTP rename refuses an existing target; keys are unique per run, so this is rare.
          await done((cb) => sftp.unlink(path, cb)).catch(() => undefined);
          await done((cb) => sftp.rename(temp, path, cb));
        }
        return { size: upload.bytesWritten };
      } catch (error) {
        if (handle) {
          const open = handle;
          await done((cb) => sftp.close(open, cb)).catch(() => undefined);
        }
        await done((cb) => sftp.unlink(temp, cb)).catch(() => undefined);
        if (error instanceof DestinationError) throw error;
        if (signal.aborted) throw fail(`storing ${key} on ${where} was aborted`, { cause: error });
        throw describeSftpError(`storing ${key}`, error);
      }
    }),

    async *list(prefix) {
      for await (const file of filesUnder(prefix)) {
        if (isPartialName(file.name) || !file.key.startsWith(prefix)) continue;
        yield { key: file.key, size: file.attrs.size, lastModified: new Date(file.attrs.mtime * 1000) } satisfies StoredObject;
      }
    },

    async *listPartial(prefix) {
      for await (const file of filesUnder(prefix)) {
        const final = finalNameOf(file.name);
        if (final === undefined) continue;
        const key = `${file.key.slice(0, file.key.length - file.name.length)}${final}`;
        if (key.startsWith(prefix)) yield { key, handle: file.key, size: file.attrs.size, lastModified: new Date(file.attrs.mtime * 1000) } satisfies PartialUpload;
      }
    },

    removePartial: (partials: readonly PartialUpload[]) => busy(async () => {
      if (partials.length === 0) return;
      const sftp = await sftpOf();
      for (const partial of partials) {
        // The handle is the temporary file's path under the root: only ever one of ours.
        if (finalNameOf(posix.basename(partial.handle)) === undefined) throw fail(`${partial.handle} is not a partial upload`);
        const path = pathOf(partial.handle);
        try {
          await done((cb) => sftp.unlink(path, cb));
        } catch (error) {
          if (codeOf(error) !== NO_SUCH_FILE) throw describeSftpError(`removing the partial upload ${partial.handle}`, error);
        }
        await removeEmptyFolders(sftp, path);
      }
    }),

    async get(key) {
      begin();
      let ended = false;
      const finish = () => {
        if (!ended) end();
        ended = true;
      };
      try {
        const sftp = await sftpOf();
        const path = pathOf(key);
        const found = await stat(sftp, path).catch((error: unknown) => {
          throw describeSftpError(`reading ${key}`, error);
        });
        if (!found || !found.isFile()) throw new ObjectNotFoundError(key, { plugin: options.id });
        let handle: Buffer;
        try {
          handle = await call<Buffer>((cb) => sftp.open(path, 'r', cb));
        } catch (error) {
          if (codeOf(error) === NO_SUCH_FILE) throw new ObjectNotFoundError(key, { plugin: options.id });
          throw describeSftpError(`reading ${key}`, error);
        }
        // The connection counts as busy until the caller has read or dropped the stream.
        const stream = new SftpDownload(sftp, handle, found.size, blockSizes(sftp).read);
        stream.once('close', finish);
        return stream;
      } catch (error) {
        finish();
        throw error;
      }
    },

    delete: (keys: string[]) => busy(async () => {
      if (keys.length === 0) return;
      const sftp = await sftpOf();
      for (const key of keys) {
        const path = pathOf(key);
        try {
          await done((cb) => sftp.unlink(path, cb));
        } catch (error) {
          if (codeOf(error) !== NO_SUCH_FILE) throw describeSftpError(`deleting ${key}`, error);
        }
        await removeEmptyFolders(sftp, path);
      }
    }),

    async close() {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = undefined;
      rootChecked = false;
      knownDirs.clear();
      await disconnect();
    },
  };
}
