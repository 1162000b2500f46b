/**
 * The samba destination's instance: a folder on an SMB share through smbclient (smbclient.ts runs
 * it). Loaded only when a job uses the destination (index.ts declares it).
 */
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DestinationError, ObjectNotFoundError } from '../../errors.js';
import type { CreateContext } from '../../plugin.js';
import type { Destination, DestinationOptions, PartialUpload, StoredObject } from '../types.js';
import { finalNameOf, isPartialName, partialNameFor } from '../temp-names.js';
import { unsafeNameProblem } from './names.js';
import type { SambaOptions } from './schema.js';
import {
  connectionFailure,
  explainSmbOutput,
  killSmbclient,
  parseRecursiveListing,
  quote,
  runSmbclient,
  saysNotFound,
  unexpectedStatusLines,
  type SmbConnection,
  type SmbPlace,
} from './smbclient.js';

/** Bytes of smbclient's stdout held back until it exited (its error messages come last). */
const HOLD_BACK = 4096;
/** Commands per smbclient run when deleting (keeps the -c argument far below the argv limit). */
const DELETE_BATCH = 200;

/** `a/b/c` -> ['a', 'a/b', 'a/b/c']. */
function ancestry(folder: string): string[] {
  const parts = folder ? folder.split('/') : [];
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

const dirOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
const baseOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);

export function create(options: DestinationOptions<ReturnType<typeof SambaOptions>>, ctx: CreateContext): Destination {
  const username = options.credentials?.username ?? options.username;
  const password = options.credentials?.password ?? options.password;
  const fail = (message: string) => new DestinationError(message, { plugin: options.id });
  if (!username || !password) throw fail('credentials.username and credentials.password are required');
  if (options.suffix !== undefined) {
    ctx.logger.debug({ destination: options.id }, 'samba: "suffix" is accepted for compatibility and not used: stored names already end with .gpg when encrypted');
  }
  const connection: SmbConnection = { host: options.host, share: options.share, port: options.port, workgroup: options.workgroup, username, password };
  const place: SmbPlace = { host: options.host, port: options.port, share: options.share, username };
  // "" or "folder/inside/share/" (keys are appended to it).
  const root = (options.path ?? '').replace(/\\/g, '/').replace(/^\/+|\/+$/g, '');
  const base = root ? `${root}/` : '';

  const remoteOf = (key: string) => {
    const problem = unsafeNameProblem(key);
    if (problem) throw fail(`cannot store "${key}" on an SMB share: the key ${problem}`);
    return base + key;
  };

  /** Runs commands that need no data; throws the explained failure when the connection failed. */
  async function run(doing: string, commands: string[]): Promise<{ code: number | null; output: string }> {
    const smb = await runSmbclient(connection, commands);
    const result = await smb.exit;
    if (result.spawnError) throw fail(`${doing} failed: ${result.spawnError}`);
    if (connectionFailure(result.output)) throw fail(`${doing} failed: ${explainSmbOutput(result.output, place)}`);
    return result;
  }

  async function removeQuietly(path: string): Promise<void> {
    try {
      await run(`removing ${path}`, [`del ${quote(path)}`]);
    } catch {
      // best effort: the caller reports the original failure
    }
  }

  /** Files under the deepest folder `prefix` names (paths from the share root), temporary uploads included. */
  async function filesUnder(prefix: string) {
    const full = base + prefix;
    const folder = dirOf(full);
    if (folder && unsafeNameProblem(folder)) throw fail(`cannot list "${prefix}": the folder ${unsafeNameProblem(folder)}`);
    const result = await run(`listing ${full}`, ['recurse', folder ? `ls ${quote(`${folder}/*`)}` : 'ls']);
    if (result.code !== 0) {
      if (saysNotFound(result.output)) return [];
      throw fail(`listing ${full} failed: ${explainSmbOutput(result.output, place)}`);
    }
    return parseRecursiveListing(result.output, folder);
  }

  /** Deletes files (paths from the share root); files already gone are fine. Folders left empty go too. */
  async function removeFiles(remotes: string[]): Promise<void> {
    if (remotes.length === 0) return;
    // Folders left empty go too (deepest first), never the destination's root folder.
    const folders = new Set<string>();
    for (const remote of remotes) for (const folder of ancestry(dirOf(remote))) if (folder.length > root.length) folders.add(folder);
    const commands = [
      ...remotes.map((r) => `del ${quote(r)}`),
      ...[...folders].sort((a, b) => b.split('/').length - a.split('/').length).map((f) => `rmdir ${quote(f)}`),
    ];
    for (let i = 0; i < commands.length; i += DELETE_BATCH) {
      const result = await run(`deleting ${remotes.length} file(s)`, commands.slice(i, i + DELETE_BATCH));
      // Expected: files already gone, folders not empty or already gone.
      const problems = unexpectedStatusLines(result.output, /removing remote directory|NT_STATUS_(OBJECT_NAME_NOT_FOUND|OBJECT_PATH_NOT_FOUND|NO_SUCH_FILE)\b/);
      if (problems.length > 0) throw fail(`deleting failed: ${explainSmbOutput(problems.join('\n'), place)}`);
    }
  }

  return {
    async check() {
      const result = await run(`connecting to //${options.host}/${options.share}`, [root ? `ls ${quote(root)}` : 'ls']);
      // A missing folder is created by the first put; anything else is a real problem.
      if (result.code !== 0 && !saysNotFound(result.output)) {
        throw fail(`checking //${options.host}/${options.share}/${root} failed: ${explainSmbOutput(result.output, place)}`);
      }
    },

    async put(key, body, { signal }) {
      const remote = remoteOf(key);
      const folder = dirOf(remote);
      const temp = `${folder ? `${folder}/` : ''}${partialNameFor(baseOf(remote))}`;
      signal.throwIfAborted();

      let size = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          callback(null, chunk);
        },
      });
      // mkdir of each folder level (an existing one only prints a collision), then the upload.
      const smb = await runSmbclient(connection, [...ancestry(folder).map((d) => `mkdir ${quote(d)}`), `put - ${quote(temp)}`], { stdin: true });
      // smbclient ending before it has read everything (refused login, no such share) must
      // stop the feeding too, or a slow or stalled source would keep the put waiting.
      const stopFeeding = new AbortController();
      void smb.exit.then(() => stopFeeding.abort(new Error('smbclient ended')));
      // Whose error came first: the source's, or smbclient's stdin (EPIPE)? pipeline() passes
      // the first error on to the other streams, so only the first one seen tells the origin.
      let firstError: { from: 'source' | 'smbclient'; error: unknown } | undefined;
      body.once('error', (error: unknown) => (firstError ??= { from: 'source', error }));
      smb.child.stdin!.once('error', (error: unknown) => (firstError ??= { from: 'smbclient', error }));
      smb.child.stdin!.once('close', () => (firstError ??= { from: 'smbclient', error: new Error('smbclient stopped reading') }));
      const feedError = await pipeline(body, counter, smb.child.stdin!, { signal: AbortSignal.any([signal, stopFeeding.signal]) }).then(
        () => undefined,
        (error: unknown) => error ?? new Error('stream failed'),
      );
      if (feedError !== undefined) await killSmbclient(smb);
      const result = await smb.exit;
      const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

      const cleanupAndFail = async (message: string): Promise<never> => {
        if (!result.spawnError) await removeQuietly(temp);
        throw fail(`storing ${key} failed: ${message}; nothing was stored`);
      };
      if (signal.aborted) {
        const reason = signal.reason instanceof Error ? signal.reason.message : 'aborted';
        return cleanupAndFail(`upload aborted (${reason})`);
      }
      if (result.spawnError) return cleanupAndFail(result.spawnError);
      if (firstError?.from === 'source') return cleanupAndFail(`the data stream failed (${messageOf(firstError.error)})`);
      // Exited by itself with a failure (not killed by us): its output says why.
      if (result.code !== 0 && result.signal === null) return cleanupAndFail(explainSmbOutput(result.output, place));
      if (feedError !== undefined) return cleanupAndFail(`the data stream failed (${messageOf(feedError)})`);
      if (result.code !== 0) return cleanupAndFail(explainSmbOutput(result.output, place));

      const renamed = await run(`storing ${key}`, [`rename ${quote(temp)} ${quote(remote)} -f`]).catch(async (error: unknown) => {
        await removeQuietly(temp);
        throw error;
      });
      if (renamed.code !== 0 || unexpectedStatusLines(renamed.output, /^$/).length > 0) {
        return cleanupAndFail(`renaming the uploaded file into place failed: ${explainSmbOutput(renamed.output, place)}`);
      }
      if (signal.aborted) {
        // Aborted while the rename was under way (the source failed after its last byte).
        await removeQuietly(remote);
        const reason = signal.reason instanceof Error ? signal.reason.message : 'aborted';
        throw fail(`storing ${key} failed: upload aborted (${reason}); nothing was stored`);
      }
      return { size };
    },

    async *list(prefix) {
      for (const file of await filesUnder(prefix)) {
        if (!file.path.startsWith(base + prefix) || isPartialName(baseOf(file.path))) continue;
        const stored: StoredObject = { key: file.path.slice(base.length), size: file.size, lastModified: file.lastModified };
        yield stored;
      }
    },

    async *listPartial(prefix) {
      for (const file of await filesUnder(prefix)) {
        const final = finalNameOf(baseOf(file.path));
        if (final === undefined) continue;
        if (!file.path.startsWith(base)) continue;
        const handle = file.path.slice(base.length);
        const key = `${dirOf(handle) ? `${dirOf(handle)}/` : ''}${final}`;
        if (!key.startsWith(prefix)) continue;
        const partial: PartialUpload = { key, handle, size: file.size, lastModified: file.lastModified };
        yield partial;
      }
    },

    async removePartial(partials) {
      for (const partial of partials) {
        // The handle is the temporary file's path under the root: only ever one of ours.
        if (finalNameOf(baseOf(partial.handle)) === undefined) throw fail(`${partial.handle} is not a partial upload`);
      }
      await removeFiles(partials.map((p) => remoteOf(p.handle)));
    },

    async get(key) {
      const remote = remoteOf(key);
      const smb = await runSmbclient(connection, [`get ${quote(remote)} -`], { stdoutIsData: true });
      const chunks = smb.child.stdout![Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      // smbclient prints its error messages on stdout after the data, so the last HOLD_BACK
      // bytes are released only once it exited cleanly; on failure they are the message.
      let held = Buffer.alloc(0);
      const hold = (chunk: Buffer): Buffer | undefined => {
        const total = held.length + chunk.length;
        if (total <= HOLD_BACK) {
          held = Buffer.concat([held, chunk]);
          return undefined;
        }
        const all = Buffer.concat([held, chunk], total);
        held = Buffer.from(all.subarray(total - HOLD_BACK));
        return all.subarray(0, total - HOLD_BACK);
      };
      const failure = async (): Promise<DestinationError | undefined> => {
        const result = await smb.exit;
        if (result.spawnError) return fail(`reading ${key} failed: ${result.spawnError}`);
        if (result.code === 0) return undefined;
        const output = `${result.output}\n${held.toString('utf8')}`;
        if (!connectionFailure(output) && saysNotFound(output)) return new ObjectNotFoundError(key, { plugin: options.id });
        return fail(`reading ${key} failed: ${explainSmbOutput(output, place)}`);
      };
      // Read until data flows past the held-back tail, or smbclient ended (a missing file).
      let first: Buffer | undefined;
      let ended = false;
      while (!first && !ended) {
        const next = await chunks.next();
        if (next.done) ended = true;
        else first = hold(next.value);
      }
      if (ended) {
        const error = await failure();
        if (error) throw error;
        return Readable.from(held.length > 0 ? [held] : []);
      }
      async function* rest(): AsyncGenerator<Buffer> {
        try {
          yield first!;
          for (;;) {
            const next = await chunks.next();
            if (next.done) break;
            const out = hold(next.value);
            if (out) yield out;
          }
          const error = await failure();
          if (error) throw error;
          if (held.length > 0) yield held;
        } finally {
          // The reader stopped early, or failed: end smbclient.
          await killSmbclient(smb);
        }
      }
      return Readable.from(rest());
    },

    async delete(keys) {
      await removeFiles(keys.map(remoteOf));
    },
  };
}
