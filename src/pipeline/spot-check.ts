/**
 * `backup verify --spot N`: borgmatic's spot check for folder sources. The newest whole run (or
 * `--run`) is read back twice, streaming: first into `tar -tvv` (its regular files; the read
 * also makes every integrity check), then into `tar -xO` of N randomly chosen regular files,
 * whose contents are hashed as they pass (cut by the sizes of the listing, in archive order):
 * no plaintext on disk. Each is compared with the file in the live folder (sha256); the live
 * folder's listing comes from `tar -cvv -f /dev/null` with the source's excludes, so both sides
 * name the same files the same way.
 *
 * Fails when more than `tolerance` percent of the sampled files differ or vanished, or when
 * the files new since the run are more than `tolerance` percent of the run's files.
 */
import { createHash, randomInt } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { Job, LoadedSource } from '../config/job.js';
import { PipelineError, UsageError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { spawnProgram } from '../lib/process.js';
import { plainFileName, readBack } from './read-back.js';
import { decryptionFor, findSource, jobOwner, openDestinations, pickRun, runFiles, type OpenedDestination, type RestoreOptions } from './restore.js';
import { feedAndDrain } from './streams.js';
import { archiveRoot } from '../sources/folder/archive-root.js';
import { TAR_LIST_ARGS, displayName, feedOrStop, parseTarLine, pickTarFile, tarEnv, type TarMember } from './tar-members.js';

export const DEFAULT_SPOT_TOLERANCE = 10;

/** What the spot check reads of a folder source's options: the live folder and tar's excludes. */
const LiveFolder = z.object({ path: z.string(), excludes: z.array(z.string()).optional() });

export interface SpotOptions extends Pick<RestoreOptions, 'identity' | 'identityPassphrase'> {
  source?: string;
  destination?: string;
  run?: string;
  /** How many regular files to compare. */
  count: number;
  /** Percent of sampled files allowed to differ (and of the run's files allowed to be new). */
  tolerance?: number;
}

export interface SpotResult {
  source: string;
  destination?: string;
  run?: string;
  why?: string;
  ok: boolean;
  /** Regular files in the archive. */
  archived: number;
  sampled: number;
  same: string[];
  differ: string[];
  vanished: string[];
  /** Regular files in the live folder that the run does not hold. */
  added: string[];
  error?: string;
}

export async function spotCheck(job: Job, options: SpotOptions, logger: Logger): Promise<SpotResult[]> {
  if (!Number.isInteger(options.count) || options.count < 1) throw new UsageError(`--spot takes a number of files (1 or more), not "${options.count}"`);
  const tolerance = options.tolerance ?? DEFAULT_SPOT_TOLERANCE;
  if (!(tolerance >= 0 && tolerance <= 100)) throw new UsageError(`--spot-tolerance takes a percentage from 0 to 100, not "${options.tolerance}"`);
  const sources = options.source ? [findSource(job, options.source)] : job.sources.filter((s) => s.plugin.type === 'folder');
  for (const s of sources) {
    if (s.plugin.type !== 'folder') throw new UsageError(`--spot compares with a live folder: source "${s.options.id}" is of type ${s.plugin.type}, not folder`);
  }
  if (sources.length === 0) throw new UsageError('--spot compares folder sources with their live folder: this job has no source of type folder');
  const opened = await openDestinations(job, logger, options.destination);
  const results: SpotResult[] = [];
  try {
    for (const source of sources) results.push(await spotOne(job, source, opened, options, tolerance, logger));
  } finally {
    for (const d of opened) await d.destination.close?.().catch(() => undefined);
  }
  return results;
}

async function spotOne(job: Job, source: LoadedSource, opened: OpenedDestination[], options: SpotOptions, tolerance: number, logger: Logger): Promise<SpotResult> {
  const id = source.options.id;
  const result: SpotResult = { source: id, ok: false, archived: 0, sampled: 0, same: [], differ: [], vanished: [], added: [] };
  const decryption = await decryptionFor(source, options);
  const problems: string[] = [];
  // The first destination with a run is compared: every destination holds the same bytes.
  for (const d of opened) {
    const where = d.loaded.options.id;
    try {
      const { run, why } = await pickRun(d, id, options.run ?? 'latest', jobOwner(job));
      if (!run) {
        problems.push(`${where}: ${why}`);
        continue;
      }
      Object.assign(result, { destination: where, run: run.runKey, why });
      const [file, ...more] = pickTarFile((await runFiles(d, id, run)).files, plainFileName, `${id} run ${run.runKey}`);
      if (more.length) throw new UsageError(`${id} run ${run.runKey} holds ${more.length + 1} tar archives; --spot compares a folder source's one`);
      const read = () => readBack(d.destination, file!.key, file!.file, file!.sha256 ? { size: file!.size, sha256: file!.sha256 } : undefined, decryption, where);

      const archived = await listRegularFiles(await read(), id);
      result.archived = archived.length;
      const sample = pickRandom(archived, options.count);
      result.sampled = sample.length;
      const hashes = await hashMembers(await read(), sample, id);
      const folder = LiveFolder.parse(source.options);
      const target = await archiveRoot(folder.path);
      for (const member of sample) {
        const live = join(dirname(target), member.name);
        const state = await compareLive(live, member, hashes.get(member.name)!);
        result[state].push(displayName(member.name));
      }
      const names = new Set(archived.map((m) => m.name));
      const liveFiles = await listLiveFolder(target, folder.excludes ?? [], id);
      result.added = liveFiles.filter((n) => !names.has(n)).map(displayName);

      const changed = result.differ.length + result.vanished.length;
      const problemsFound: string[] = [];
      if (result.sampled > 0 && (changed * 100) / result.sampled > tolerance) problemsFound.push(`${changed} of ${result.sampled} sampled files differ or vanished (more than ${tolerance}%)`);
      if (result.archived > 0 ? (result.added.length * 100) / result.archived > tolerance : result.added.length > 0) {
        problemsFound.push(`${result.added.length} files are new since the run, against ${result.archived} in it (more than ${tolerance}%)`);
      }
      if (result.archived === 0) logger.warn(`${id} run ${run.runKey} holds no regular file: nothing to compare`);
      if (problemsFound.length) result.error = problemsFound.join('; ');
      result.ok = problemsFound.length === 0;
      return result;
    } catch (error) {
      if (error instanceof UsageError) throw error;
      const why = describeError(error, { layer: 'destination', plugin: where });
      if (options.destination || result.run) {
        result.error = why;
        return result;
      }
      problems.push(`${where}: ${why}`);
    }
  }
  result.error = problems.join('; ') || 'no destination';
  return result;
}

/** The archive's regular files, in archive order, after every integrity check passed. */
async function listRegularFiles(back: { stream: Readable; done: Promise<void> }, plugin: string): Promise<TarMember[]> {
  const tar = spawnProgram('tar', TAR_LIST_ARGS, { plugin, layer: 'pipeline', label: 'tar -t', env: tarEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  const members: TarMember[] = [];
  const reading = (async () => {
    for await (const line of createInterface({ input: tar.child.stdout!, crlfDelay: Infinity })) {
      const m = parseTarLine(line);
      if (m?.type === '-') members.push(m);
    }
  })();
  await settleChecksFirst([feedOrStop(feedAndDrain(back.stream, tar.child.stdin!), tar), tar.done, reading], back.done);
  return members;
}

/**
 * `tar -xO` of the chosen members: their contents one after another in archive order, cut by
 * the sizes the listing gave and hashed on the way. Returns name → sha256.
 */
async function hashMembers(back: { stream: Readable; done: Promise<void> }, sample: readonly TarMember[], plugin: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  if (sample.length === 0) {
    back.stream.resume();
    await back.done;
    return hashes;
  }
  const tar = spawnProgram('tar', ['-x', '-O', '--no-wildcards', '-f', '-', '--', ...sample.map((m) => m.name)], { plugin, layer: 'pipeline', label: 'tar -xO', env: tarEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let index = 0;
  let left = sample[0]!.size;
  let hash = createHash('sha256');
  const finishEmpty = () => {
    while (index < sample.length && left === 0) {
      hashes.set(sample[index]!.name, hash.digest('hex'));
      index++;
      hash = createHash('sha256');
      left = sample[index]?.size ?? 0;
    }
  };
  finishEmpty();
  const cutter = new Writable({
    write(chunk: Buffer, _enc, callback) {
      let at = 0;
      while (at < chunk.length) {
        if (index >= sample.length) return callback(new PipelineError('tar -xO wrote more than the chosen files hold'));
        const take = Math.min(left, chunk.length - at);
        hash.update(chunk.subarray(at, at + take));
        at += take;
        left -= take;
        finishEmpty();
      }
      callback();
    },
  });
  await settleChecksFirst([feedOrStop(feedAndDrain(back.stream, tar.child.stdin!), tar), tar.done, pipeline(tar.child.stdout!, cutter)], back.done);
  if (index < sample.length) throw new PipelineError(`tar -xO ended before ${displayName(sample[index]!.name)} was whole`);
  return hashes;
}

/** Waits for all; a failed integrity check is the cause, whatever tar made of the bytes. */
async function settleChecksFirst(work: Promise<unknown>[], checks: Promise<void>): Promise<void> {
  const [checked, ...rest] = await Promise.allSettled([checks, ...work]);
  if (checked!.status === 'rejected') throw checked!.reason;
  for (const r of rest) if (r.status === 'rejected') throw r.reason;
}

function pickRandom<T>(items: readonly T[], count: number): T[] {
  const chosen = items.map((item, i) => ({ item, i }));
  const n = Math.min(count, chosen.length);
  for (let i = 0; i < n; i++) {
    const j = randomInt(i, chosen.length);
    [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
  }
  // Archive order: tar -xO writes the members in that order.
  return chosen.slice(0, n).sort((a, b) => a.i - b.i).map((c) => c.item);
}

async function compareLive(path: string, member: TarMember, archivedHash: string): Promise<'same' | 'differ' | 'vanished'> {
  const stat = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  if (!stat) return 'vanished';
  if (!stat.isFile() || stat.size !== member.size) return 'differ';
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex') === archivedHash ? 'same' : 'differ';
}

/** The regular files tar would archive now (names as in the archive), without reading them. */
async function listLiveFolder(target: string, excludes: readonly string[], plugin: string): Promise<string[]> {
  const args = ['-C', dirname(target), '-cvv', '-f', '/dev/null', '--full-time', '--numeric-owner', '--quoting-style=escape', ...excludes.map((e) => `--exclude=${e}`), `./${basename(target)}`];
  const tar = spawnProgram('tar', args, { plugin, layer: 'source', label: 'tar -c (live listing)', env: tarEnv(), warnOn: [1], stdio: ['ignore', 'pipe', 'pipe'] });
  const names: string[] = [];
  const reading = (async () => {
    for await (const line of createInterface({ input: tar.child.stdout!, crlfDelay: Infinity })) {
      const m = parseTarLine(line);
      if (m?.type === '-') names.push(m.name);
    }
  })();
  await Promise.all([tar.done, reading]);
  return names;
}
