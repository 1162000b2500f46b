/**
 * `backup verify`: fetch the newest complete run of each source on each destination (`--run`:
 * that run; `--all`: every whole run), check every file's size and sha256 against the manifest,
 * decrypt and decompress it fully, and for tar archives check that tar can list them.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Job } from '../config/job.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { spawnProgram } from '../lib/process.js';
import { describeRunState, isWholeCopy, listRuns, newestWholeRun, type StoredRun } from './runs.js';
import { UsageError } from '../errors.js';
import { feedAndDrain } from './streams.js';
import { feedOrStop } from './tar-members.js';
import type { Readable } from 'node:stream';
import { readBack, restoredFileName } from './read-back.js';
import { decryptionFor, findSource, jobOwner, openDestinations, pickRun, runFiles, type OpenedDestination, type RestoreOptions } from './restore.js';
import type { Decryption } from './read-back.js';
import { expandStoredIds } from './stored-ids.js';

export interface VerifyResult {
  source: string;
  destination: string;
  run?: string;
  /** Which run was checked and why (newer runs skipped and their state). */
  why?: string;
  ok: boolean;
  files: { file: string; plainBytes: number; ok: boolean; error?: string }[];
  error?: string;
}

type VerifyOptions = { source?: string; destination?: string; run?: string; all?: boolean } & Pick<RestoreOptions, 'identity' | 'identityPassphrase'>;

export async function verify(job: Job, options: VerifyOptions, logger: Logger): Promise<VerifyResult[]> {
  if (options.all && options.run) throw new UsageError('give --run or --all, not both');
  const destinations = await openDestinations(job, logger, options.destination);
  try {
    return await verifyOn(destinations, job, options, logger);
  } finally {
    // Connections (SSH, SMB) would otherwise keep the process alive, also after a failure.
    for (const d of destinations) await d.destination.close?.().catch(() => undefined);
  }
}

async function verifyOn(destinations: OpenedDestination[], job: Job, options: VerifyOptions, logger: Logger): Promise<VerifyResult[]> {
  // A source keyed per id (vzdump guests) is verified under each id it stored.
  const sources = options.source ? [findSource(job, options.source)] : await expandStoredIds(job.sources, destinations);
  const results: VerifyResult[] = [];
  for (const source of sources) {
    const decryption = await decryptionFor(source, options);
    for (const d of destinations) {
      if (options.all) {
        results.push(...(await verifyAllRuns(d, source.options.id, decryption, jobOwner(job), logger)));
        continue;
      }
      const result: VerifyResult = { source: source.options.id, destination: d.loaded.options.id, ok: false, files: [] };
      results.push(result);
      try {
        const { run, why, newer } = await pickRun(d, source.options.id, options.run ?? 'latest', jobOwner(job));
        result.why = why;
        if (!run) {
          result.error = why;
          continue;
        }
        result.run = run.runKey;
        // The newest run of this job must be whole: an interrupted or damaged newest run fails
        // verify even though an older whole run checks out (a run in progress does not).
        const notWhole = !isWholeCopy(run);
        const broken = newer.filter((r) => r.state !== 'running');
        if (notWhole) result.error = `run ${describeRunState(run)}`;
        else if (broken.length) result.error = newestNotWhole(broken);
        await checkRunFiles(d, source.options.id, run, decryption, result, logger);
        result.ok = result.error === undefined && result.files.length > 0 && result.files.every((f) => f.ok);
      } catch (error) {
        result.error = describeError(error, { layer: 'destination', plugin: d.loaded.options.id });
      }
    }
  }
  return results;
}

/** Runs newer than the one checked that are not whole (a run in progress is left out by the caller). */
function newestNotWhole(broken: readonly StoredRun[]): string {
  return `the newest run is not whole: ${broken.map(describeRunState).join('; ')}`;
}

/** Reads every file of `run` back into `result.files`. */
async function checkRunFiles(d: OpenedDestination, sourceId: string, run: StoredRun, decryption: Decryption, result: VerifyResult, logger: Logger): Promise<void> {
  const { files, manifest } = await runFiles(d, sourceId, run);
  if (!manifest) logger.warn(`${sourceId} run ${run.runKey} on ${d.loaded.options.id} has no manifest (original tool): content checked, hashes not`);
  for (const f of files) {
    const entry: VerifyResult['files'][number] = { file: f.file, plainBytes: 0, ok: false };
    result.files.push(entry);
    try {
      const back = await readBack(d.destination, f.key, f.file, f.sha256 ? { size: f.size, sha256: f.sha256 } : undefined, decryption, d.loaded.options.id, f.name);
      entry.plainBytes = await consume(back, restoredFileName(f).endsWith('.tar'), sourceId);
      entry.ok = true;
    } catch (error) {
      entry.error = describeError(error, { layer: 'destination', plugin: d.loaded.options.id });
    }
  }
}

/**
 * `--all`: every whole run of this job on the destination, newest first, one result each. The
 * newest run must still be whole (as without `--all`): that failure is on the newest whole run's
 * result. Runs of other jobs are not ours to judge and are left out.
 */
async function verifyAllRuns(d: OpenedDestination, sourceId: string, decryption: Decryption, owner: ReturnType<typeof jobOwner>, logger: Logger): Promise<VerifyResult[]> {
  const where = d.loaded.options.id;
  let runs: StoredRun[];
  try {
    runs = await listRuns(d.destination, d.layout, sourceId, owner);
  } catch (error) {
    return [{ source: sourceId, destination: where, ok: false, files: [], error: describeError(error, { layer: 'destination', plugin: where }) }];
  }
  const newest = newestWholeRun(runs);
  const whole = runs.filter((r) => r.state !== 'other' && isWholeCopy(r));
  if (whole.length === 0) return [{ source: sourceId, destination: where, ok: false, files: [], error: newest.why, why: newest.why }];
  const broken = newest.newer.filter((r) => r.state !== 'running');
  const results: VerifyResult[] = [];
  for (const run of whole) {
    const isNewest = run === newest.run;
    const result: VerifyResult = { source: sourceId, destination: where, run: run.runKey, ok: false, files: [], why: isNewest ? newest.why : `older whole run (${run.state})` };
    results.push(result);
    if (isNewest && broken.length) result.error = newestNotWhole(broken);
    try {
      await checkRunFiles(d, sourceId, run, decryption, result, logger);
    } catch (error) {
      result.error = describeError(error, { layer: 'destination', plugin: where });
    }
    result.ok = result.error === undefined && result.files.length > 0 && result.files.every((f) => f.ok);
  }
  return results;
}

async function consume(back: { stream: NodeJS.ReadableStream; done: Promise<void> }, isTar: boolean, plugin: string): Promise<number> {
  let bytes = 0;
  const counter = (chunk: Buffer) => {
    bytes += chunk.length;
  };
  if (isTar) {
    const tar = spawnProgram('tar', ['-t', '-f', '-'], { plugin, layer: 'pipeline', label: 'tar -t', stdio: ['pipe', 'ignore', 'pipe'] });
    // A stream that fails (a damaged file) stops tar too, which would wait for the rest of its input.
    const [read] = await Promise.all([feedOrStop(feedAndDrain(back.stream as Readable, tar.child.stdin!), tar), tar.done, back.done]);
    return read;
  }
  await pipeline(
    back.stream,
    new Writable({
      write(chunk: Buffer, _enc, callback) {
        counter(chunk);
        callback();
      },
    }),
  );
  await back.done;
  return bytes;
}
