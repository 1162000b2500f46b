/**
 * Listing stored runs and restoring one: pick the run (newest whole run, or a timestamp) on a
 * destination, read every file back through read-back.ts, and write it to a folder (under a
 * temporary name, renamed when every check passed), to stdout, into a tar extraction, or into
 * a database through the source plugin.
 */
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { makeRunTempDir, ownerTag, tempFolderOwnerAlive } from '../lib/temp-dir.js';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Job, LoadedDestination, LoadedSource } from '../config/job.js';
import type { Destination } from '../destinations/types.js';
import { PipelineError, UsageError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { KeyLayout, parseRunKey } from './keys.js';
import { readManifest, type Manifest } from './manifest.js';
import { decompressedByZstd, readBack, readBackInto, plainFileName, restoredFileName, type Decryption, type ReadBack } from './read-back.js';
import { dataObjects, describeRunState, fileOf, isWholeCopy, listRuns, newestWholeRun, type RunOwner, type StoredRun } from './runs.js';
import { cleanUpOnSignal, lostItsReader, spawnProgram, type SpawnedProgram } from '../lib/process.js';
import { storedIdSource } from './stored-ids.js';
import { feedAndDrain } from './streams.js';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { readPrivateKeys } from './encrypt.js';
import { feedOrStop, namesStartWithDotSlash, patternArgs, tarEnv, unmatchedPatterns } from './tar-members.js';

export interface OpenedDestination {
  loaded: LoadedDestination;
  destination: Destination;
  layout: KeyLayout;
}

export async function openDestinations(job: Job, logger: Logger, only?: string): Promise<OpenedDestination[]> {
  const selected = only ? job.destinations.filter((d) => d.options.id === only) : job.destinations;
  if (only && selected.length === 0) throw new UsageError(`no destination "${only}" in the job (have: ${job.destinations.map((d) => d.options.id).join(', ')})`);
  const opened: OpenedDestination[] = [];
  try {
    for (const loaded of selected) {
      const destination = await loaded.create({ job: job.info, logger });
      opened.push({ loaded, destination, layout: new KeyLayout(loaded.options.key_template, job.info.hostname) });
    }
  } catch (error) {
    // The caller closes what it gets; those opened before the failure are closed here.
    for (const d of opened) await d.destination.close?.().catch(() => undefined);
    throw error;
  }
  return opened;
}

export function findSource(job: Job, id: string): LoadedSource {
  // `vzdump-101`: a stored id of a source keyed per id (the vzdump source's guest 101).
  const source = job.sources.find((s) => s.options.id === id) ?? storedIdSource(job, id);
  if (!source) throw new UsageError(`no source "${id}" in the job (have: ${job.sources.map((s) => s.options.id).join(', ')})`);
  return source;
}

export interface RunFile {
  key: string;
  file: string;
  /** The size the manifest records (legacy runs: the listed size). */
  size: number;
  /** The size the destination lists for the object: a difference is caught before a byte is read. */
  storedSize?: number;
  sha256?: string;
  /** The source's own name for the file (the manifest's `name`). */
  name?: string;
  /** The name the file had before the pipeline took it (the manifest's `original_name`): restored under it. */
  originalName?: string;
}

/** The data files of a run, from its manifest when it has one. */
export async function runFiles(d: OpenedDestination, sourceId: string, run: StoredRun): Promise<{ files: RunFile[]; manifest?: Manifest }> {
  const listed = new Map(run.objects.map((o) => [fileOf(o.key), o]));
  if (run.manifestKey) {
    const manifest = run.manifest ?? (await readManifest(d.destination, run.manifestKey));
    const files = manifest.files.map((f) => {
      const object = listed.get(f.file);
      return { key: object?.key ?? d.layout.objectKey(sourceId, run, f.file), file: f.file, size: f.size, storedSize: object?.size, sha256: f.sha256, name: f.name, originalName: f.original_name };
    });
    return { files, manifest };
  }
  return { files: dataObjects(run).map((o) => ({ key: o.key, file: fileOf(o.key), size: o.size, storedSize: o.size })) };
}

export function jobOwner(job: Job): RunOwner {
  return { hostname: job.info.hostname, job: job.info.name };
}

export interface PickedRun {
  run?: StoredRun;
  /** Why this run, in words: "the newest complete run; newer: 20261129... is incomplete (...)". */
  why: string;
  /** Runs of this job newer than the one picked (not whole, or in progress). */
  newer: StoredRun[];
}

/** `latest`: the newest whole run of this job; a run key: that run, whatever its state. */
export async function pickRun(d: OpenedDestination, sourceId: string, which: string, owner: RunOwner): Promise<PickedRun> {
  if (which !== 'latest' && !parseRunKey(which)) throw new UsageError(`--run takes "latest" or a run key as \`backup list\` shows it (YYYYmmddHHMMSS, or YYYYmmddHHMMSS-N), not "${which}"`);
  const runs = await listRuns(d.destination, d.layout, sourceId, owner);
  if (which === 'latest') return newestWholeRun(runs);
  const run = runs.find((r) => r.runKey === which);
  return { run, why: run ? `run ${which} as asked (${run.state}${run.note ? `: ${run.note}` : ''})` : `no run ${which}`, newer: [] };
}

export interface RestoreOptions {
  /** Optional when the job has exactly one source. */
  source?: string;
  run: string;
  destination?: string;
  to?: string;
  extract?: boolean;
  toDatabase?: string;
  force?: boolean;
  /** Restore only this dump of the run (`shop.sql` or `db.shop.sql`), e.g. one database of several. */
  artifact?: string;
  /** Armored private key file for recipient-encrypted backups; else the system gpg is used. */
  identity?: string;
  identityPassphrase?: string;
  /** With `extract`: only the tar members matching these globs (GNU tar `--wildcards`, see tar-members.ts). */
  paths?: string[];
}

export async function decryptionFor(source: LoadedSource, options: Pick<RestoreOptions, 'identity' | 'identityPassphrase'>): Promise<Decryption> {
  if (options.identity) {
    return { privateKeys: await readPrivateKeys(await readFile(options.identity, 'utf8'), options.identityPassphrase) };
  }
  if (source.options.passphrase && !source.options.recipients) return { passphrase: source.options.passphrase };
  return { useGpg: true };
}

/** The source `restore` takes when `--source` is left out: the job's only one. */
export function onlySourceId(job: Job): string {
  if (job.sources.length === 1) return job.sources[0]!.options.id;
  throw new UsageError(`give --source: the job has ${job.sources.length} sources (${job.sources.map((s) => s.options.id).join(', ')})`);
}

export async function restore(job: Job, options: RestoreOptions, logger: Logger): Promise<{ run: string; destination: string; files: string[] }> {
  const source = findSource(job, options.source ?? onlySourceId(job));
  const modes = [options.to !== undefined, options.toDatabase !== undefined].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('give exactly one of --to DIR|- or --to-database NAME');
  if (options.extract && (options.to === '-' || options.to === undefined)) throw new UsageError('--extract needs --to DIR');
  if (options.paths?.length && !options.extract) throw new UsageError('--path needs --extract --to DIR: only the matching paths are unpacked from the tar archive (to see them first: backup files JOB --source ID PATTERN)');
  const decryption = await decryptionFor(source, options);

  const problems: string[] = [];
  const opened = await openDestinations(job, logger, options.destination);
  try {
    return await restoreFromFirst(job, source, opened, options, decryption, problems, logger);
  } finally {
    // Connections (SSH, SMB) would otherwise keep the process alive.
    for (const d of opened) await d.destination.close?.().catch(() => undefined);
  }
}

async function restoreFromFirst(
  job: Job,
  source: LoadedSource,
  opened: OpenedDestination[],
  options: RestoreOptions,
  decryption: Decryption,
  problems: string[],
  logger: Logger,
): Promise<{ run: string; destination: string; files: string[] }> {
  for (const d of opened) {
    try {
      const { run, why } = await pickRun(d, source.options.id, options.run, jobOwner(job));
      if (!run) {
        problems.push(`${d.loaded.options.id}: ${why}`);
        continue;
      }
      if (!isWholeCopy(run)) logger.warn(`run ${describeRunState(run)}; restoring the files it has`);
      const files = selectArtifacts((await runFiles(d, source.options.id, run)).files, source.options.id, options);
      // Said on stderr whatever the log level: the operator must know which copy came back.
      process.stderr.write(`restoring ${source.options.id} run ${run.runKey} from ${d.loaded.options.id}: ${why}\n`);
      logger.debug(`files of run ${run.runKey}: ${files.map((f) => f.file).join(', ')}`);
      // A file whose stored size already differs from its manifest is refused before a byte is read.
      for (const f of files) {
        if (f.storedSize !== undefined && f.storedSize !== f.size) throw new PipelineError(`${f.key}: stored size ${f.storedSize} differs from the manifest's ${f.size}: the stored file is damaged`, { plugin: d.loaded.options.id });
      }
      const written: string[] = [];
      for (const f of files) {
        const expected = f.sha256 ? { size: f.size, sha256: f.sha256 } : undefined;
        const name = restoredFileName(f);
        if (options.extract && options.to !== '-' && options.toDatabase === undefined && name.endsWith('.tar')) {
          const open: OpenArchive = {
            stream: () => readBack(d.destination, f.key, f.file, expected, decryption, d.loaded.options.id, f.name),
            into: decompressedByZstd(f.file, f.name) ? (sink) => readBackInto(sink, d.destination, f.key, f.file, expected, decryption, d.loaded.options.id, f.name) : undefined,
          };
          await extractTar(open, options.to!, source.options.id, options.force, options.paths);
          written.push(options.to!);
          continue;
        }
        const back = await readBack(d.destination, f.key, f.file, expected, decryption, d.loaded.options.id, f.name);
        if (options.toDatabase !== undefined) {
          written.push(await restoreIntoDatabase(job, source, back, name, options, logger));
        } else if (options.to === '-') {
          await writeToStdout(back, f.key);
          written.push('-');
        } else {
          written.push(await writeFileAtomically(back, options.to!, name));
        }
      }
      return { run: run.runKey, destination: d.loaded.options.id, files: written };
    } catch (error) {
      if (options.destination || error instanceof UsageError || error instanceof StdoutSpoiledError || error instanceof NothingMatchedError) throw error;
      const why = describeError(error, { layer: 'destination', plugin: d.loaded.options.id });
      problems.push(`${d.loaded.options.id}: ${why}`);
      logger.warn(`restore from ${d.loaded.options.id} failed: ${why}`);
    }
  }
  // No whole run, or every copy failed its checks: a data failure (exit 1), not a usage error.
  throw new PipelineError(`nothing restored: ${problems.join('; ')}`);
}

/** Bytes went to stdout and cannot be taken back: no other copy may follow them. */
class StdoutSpoiledError extends PipelineError {}

/**
 * `--to -`: bytes reach the reader before the checks at the end of the file are done. A
 * failure after the first byte says the output must be discarded; a reader that closes early
 * (`| head -c 1M`) is an incomplete restore, not a success.
 */
async function writeToStdout(back: { stream: Readable; done: Promise<void> }, key: string): Promise<void> {
  let written = 0;
  back.stream.on('data', (chunk: Buffer) => (written += chunk.length));
  try {
    await pipeline(back.stream, process.stdout, { end: false });
    await back.done;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || process.stdout.destroyed) {
      throw new StdoutSpoiledError(`the reader closed stdout after ${written} bytes of ${key}: the restore is incomplete`);
    }
    if (written === 0) throw error;
    throw new StdoutSpoiledError(`${describeError(error)}; the ${written} bytes already written to stdout are corrupt and must be discarded`, { cause: error });
  }
}

/** A `--path` pattern matched no member: the same on every copy, so no other copy is tried. */
class NothingMatchedError extends PipelineError {}

/** `--artifact` picks one dump; loading into a database needs exactly one; `--path` takes tar archives. */
function selectArtifacts(files: RunFile[], sourceId: string, options: RestoreOptions): RunFile[] {
  const names = files.map((f) => plainFileName(f.file));
  if (options.paths?.length) {
    const tars = files.filter((f) => plainFileName(f.file).endsWith('.tar'));
    if (tars.length === 0) throw new UsageError(`--path picks paths inside a tar archive; this run holds none (has: ${names.join(', ')})`);
    files = tars;
  }
  if (options.artifact) {
    const wanted = [options.artifact, `${sourceId}.${options.artifact}`];
    const picked = files.filter((f) => wanted.includes(plainFileName(f.file)) || wanted.includes(f.file));
    if (picked.length === 0) throw new UsageError(`no dump "${options.artifact}" in this run (has: ${names.join(', ')})`);
    return picked;
  }
  if (options.toDatabase !== undefined && files.length > 1) {
    throw new UsageError(`this run holds ${files.length} dumps (${names.join(', ')}); choose the one to load with --artifact`);
  }
  return files;
}

/**
 * Restores write under temporary names that record their process (see sweep.ts): a leftover of
 * a restore killed with kill -9 is removed by the next restore into the same folder, never the
 * staging of a restore still running.
 */
const RESTORE_TEMP = /^\.(.+\.)?restoring-/;
const restoreTempName = (name?: string) => `.${name ? `${name}.` : ''}restoring-${ownerTag()}`;

async function sweepRestoreLeftovers(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!RESTORE_TEMP.test(name) || tempFolderOwnerAlive(name) !== false) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    process.stderr.write(`removed ${join(dir, name)}, left by an interrupted restore\n`);
  }
}

async function writeFileAtomically(back: { stream: NodeJS.ReadableStream; done: Promise<void> }, dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await sweepRestoreLeftovers(dir);
  const final = join(dir, name);
  const temp = join(dir, `${restoreTempName(name)}${randomBytes(3).toString('hex')}`);
  const removeTemp = () => unlink(temp).catch(() => undefined);
  return cleanUpOnSignal(
    async () => {
      try {
        await pipeline(back.stream, createWriteStream(temp, { mode: 0o600 }));
        await back.done;
        await rename(temp, final);
        return final;
      } catch (error) {
        await removeTemp();
        throw error;
      }
    },
    async (signal) => {
      await removeTemp();
      process.stderr.write(`backup: restore interrupted by ${signal}: nothing was written (${final} not created, temporary file removed)\n`);
    },
  );
}

/** How extractTar opens the archive: as a stream, or (zstd) straight into tar's stdin. */
interface OpenArchive {
  stream: () => Promise<ReadBack>;
  into?: (sink: Socket) => Promise<{ done: Promise<void> }>;
}

/**
 * Unpacks into a staging folder inside DIR and moves the entries in only when every check
 * passed. DIR must be empty unless `force` (then the entries are merged in, files replaced).
 * The whole archive of a zstd file goes from zstd to tar without passing through Node; with
 * `patterns`, the stream is read first to see how the members are named.
 */
async function extractTar(open: OpenArchive, dir: string, plugin: string, force = false, patterns: readonly string[] = []): Promise<void> {
  await mkdir(dir, { recursive: true });
  await sweepRestoreLeftovers(dir);
  const present = (await readdir(dir)).filter((n) => !RESTORE_TEMP.test(n));
  if (present.length > 0 && !force) {
    throw new UsageError(`${dir} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', ...' : ''}): extract into an empty folder, or give --force to merge into it (files of the backup replace those of the same name)`);
  }
  // Named before it exists and created once the handler is in place: a signal at any moment
  // finds the folder (or nothing) under this name and removes it.
  const staging = join(dir, `${restoreTempName()}${randomBytes(3).toString('hex')}`);
  let tar: SpawnedProgram | undefined;
  let moving = false;
  const spawnTar = (selected: string[], stdin: 'pipe' | Readable = 'pipe') =>
    spawnProgram('tar', ['-x', '-p', '-f', '-', '-C', staging, ...selected], { plugin, layer: 'pipeline', label: 'tar -x', env: selected.length ? tarEnv() : undefined, stdio: [stdin, 'ignore', 'pipe'] });
  await cleanUpOnSignal(
    async () => {
      await mkdir(staging, { mode: 0o700 });
      try {
        if (patterns.length === 0 && open.into) {
          const running = spawnTar([]);
          tar = running;
          const reading = await open.into(running.child.stdin as Socket).catch(async (error: unknown) => {
            running.child.kill('SIGKILL');
            await running.done.catch(() => undefined);
            throw error;
          });
          const [extracted, read] = await Promise.allSettled([running.done, reading.done]);
          // A damaged file explains tar's failure; zstd that lost its reader only repeats tar's.
          if (read.status === 'rejected' && !lostItsReader(read.reason)) throw read.reason;
          if (extracted.status === 'rejected') throw extracted.reason;
          if (read.status === 'rejected') throw read.reason;
        } else {
          const back = await open.stream();
          const dotSlash = patterns.length > 0 && (await namesStartWithDotSlash(back.stream));
          const selected = patternArgs(patterns, dotSlash);
          tar = spawnTar(selected);
          if (selected.length === 0) await Promise.all([feedOrStop(feedAndDrain(back.stream, tar.child.stdin!), tar), tar.done, back.done]);
          else await extractSelected(back, tar, patterns, dotSlash);
        }
        moving = true;
        await moveInto(staging, dir);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    },
    async (signal) => {
      tar?.child.kill('SIGKILL');
      await tar?.done.catch(() => undefined);
      await rm(staging, { recursive: true, force: true });
      process.stderr.write(
        moving
          ? `backup: restore interrupted by ${signal} while moving the checked files into ${dir}: it holds part of them\n`
          : `backup: restore interrupted by ${signal}: nothing was written to ${dir} (staging folder removed)\n`,
      );
    },
  );
}

/**
 * `--path`: the integrity checks come first (a damaged file is that, whatever tar said), then
 * tar's "Not found in archive": a pattern that matched nothing is an error, never a silent success.
 */
async function extractSelected(back: ReadBack, tar: SpawnedProgram, patterns: readonly string[], dotSlash: boolean): Promise<void> {
  const [feed, exit, checks] = await Promise.allSettled([feedOrStop(feedAndDrain(back.stream, tar.child.stdin!), tar), tar.done, back.done]);
  if (checks.status === 'rejected') throw checks.reason;
  if (exit.status === 'rejected') {
    const unmatched = unmatchedPatterns(tar.stderrTail(), patterns, dotSlash);
    if (unmatched.length) {
      throw new NothingMatchedError(`--path ${unmatched.map((p) => `"${p}"`).join(', ')} matched nothing in the archive: nothing was restored (see the paths with \`backup files\`)`);
    }
    throw exit.reason;
  }
  if (feed.status === 'rejected') throw feed.reason;
}

/** Moves every entry of `from` into `to`, merging into folders that exist there. */
async function moveInto(from: string, to: string): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    const existing = await lstat(target).catch(() => undefined);
    if (existing?.isDirectory() && entry.isDirectory()) {
      await moveInto(source, target);
      continue;
    }
    // rename replaces a file in one step: removed first only when the kinds differ, so a crash
    // never leaves the name with neither the old file nor the restored one.
    if (existing && (existing.isDirectory() || entry.isDirectory())) await rm(target, { recursive: true, force: true });
    await rename(source, target);
  }
}

async function restoreIntoDatabase(
  job: Job,
  source: LoadedSource,
  back: { stream: import('node:stream').Readable; done: Promise<void> },
  artifactName: string,
  options: RestoreOptions,
  logger: Logger,
): Promise<string> {
  const instance = await source.create({ job: job.info, logger });
  if (!instance.restoreInto) throw new UsageError(`source type ${source.plugin.type} cannot restore into a database; use --to DIR`);
  const tmpBase = source.options.tmpdir ?? job.tmpdir;
  await mkdir(tmpBase, { recursive: true, mode: 0o700 });
  const tmpdir = await makeRunTempDir(tmpBase, 'backup-runner-restore-');
  const ctx = { job: job.info, tmpdir, logger, signal: new AbortController().signal };
  try {
    // The integrity check finishes at the end of the stream; a failure there fails the restore
    // (the load should be run inside a transaction by the plugin where the database allows it).
    await Promise.all([instance.restoreInto(back.stream, { database: options.toDatabase!, force: options.force ?? false, artifactName }, ctx), back.done]);
    return `database ${options.toDatabase}`;
  } finally {
    await instance.cleanup?.(ctx).catch(() => undefined);
    await rm(tmpdir, { recursive: true, force: true });
  }
}
