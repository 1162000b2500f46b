/**
 * `backup files`: the paths inside a stored tar run, streamed. The stored file is read back
 * (download, size and sha256 checks, decrypt, decompress: read-back.ts) straight into
 * `tar -tvv`, whose lines are parsed and handed on one by one: no plaintext on disk, memory flat.
 * The integrity checks end with the stream: a listing whose file fails them is reported as
 * coming from a damaged file.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Job } from '../config/job.js';
import { PipelineError, UsageError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { spawnProgram } from '../lib/process.js';
import { plainFileName, readBack } from './read-back.js';
import { decryptionFor, findSource, jobOwner, onlySourceId, openDestinations, pickRun, runFiles, type RestoreOptions } from './restore.js';
import { describeRunState, isWholeCopy } from './runs.js';
import { feedAndDrain } from './streams.js';
import { TAR_LIST_ARGS, feedOrStop, namesStartWithDotSlash, parseTarLine, patternArgs, pickTarFile, tarEnv, unmatchedPatterns, type TarMember } from './tar-members.js';

export interface FilesOptions extends Pick<RestoreOptions, 'identity' | 'identityPassphrase'> {
  source?: string;
  run: string;
  destination?: string;
  patterns?: string[];
}

export interface FilesResult {
  source: string;
  run: string;
  destination: string;
  members: number;
}

/** Thrown once members were handed on: no other copy may be listed after them. */
export class ListingFailedError extends PipelineError {}

/**
 * Lists the members of the run's tar archive(s) through `onMember`. The run is chosen as restore
 * chooses it (newest whole run, or `--run`), from the first destination that has it.
 */
export async function listFiles(job: Job, options: FilesOptions, logger: Logger, onMember: (member: TarMember) => void): Promise<FilesResult> {
  const source = findSource(job, options.source ?? onlySourceId(job));
  const decryption = await decryptionFor(source, options);
  const opened = await openDestinations(job, logger, options.destination);
  const problems: string[] = [];
  try {
    for (const d of opened) {
      const where = d.loaded.options.id;
      try {
        const { run, why } = await pickRun(d, source.options.id, options.run, jobOwner(job));
        if (!run) {
          problems.push(`${where}: ${why}`);
          continue;
        }
        if (!isWholeCopy(run)) logger.warn(`run ${describeRunState(run)}; listing the files it has`);
        const files = pickTarFile((await runFiles(d, source.options.id, run)).files, plainFileName, `${source.options.id} run ${run.runKey}`);
        for (const f of files) {
          if (f.storedSize !== undefined && f.storedSize !== f.size) throw new PipelineError(`${f.key}: stored size ${f.storedSize} differs from the manifest's ${f.size}: the stored file is damaged`, { plugin: where });
        }
        process.stderr.write(`listing ${source.options.id} run ${run.runKey} from ${where}: ${why}\n`);
        let members = 0;
        for (const f of files) {
          const back = await readBack(d.destination, f.key, f.file, f.sha256 ? { size: f.size, sha256: f.sha256 } : undefined, decryption, where);
          members += await listArchive(back, options.patterns ?? [], source.options.id, onMember, f.key);
        }
        return { source: source.options.id, run: run.runKey, destination: where, members };
      } catch (error) {
        if (options.destination || error instanceof UsageError || error instanceof ListingFailedError) throw error;
        const why = describeError(error, { layer: 'destination', plugin: where });
        problems.push(`${where}: ${why}`);
        logger.warn(`listing from ${where} failed: ${why}`);
      }
    }
  } finally {
    for (const d of opened) await d.destination.close?.().catch(() => undefined);
  }
  throw new PipelineError(`nothing listed: ${problems.join('; ')}`);
}

/** Streams one archive through `tar -tvv`; returns how many members it handed on. */
async function listArchive(back: { stream: Readable; done: Promise<void> }, patterns: string[], plugin: string, onMember: (m: TarMember) => void, key: string): Promise<number> {
  const dotSlash = await namesStartWithDotSlash(back.stream);
  const tar = spawnProgram('tar', [...TAR_LIST_ARGS, ...patternArgs(patterns, dotSlash)], { plugin, layer: 'pipeline', label: 'tar -t', env: tarEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let seen = 0;
  const lines = createInterface({ input: tar.child.stdout!, crlfDelay: Infinity });
  const reading = (async () => {
    for await (const line of lines) {
      const member = parseTarLine(line);
      if (!member) continue;
      seen++;
      onMember(member);
    }
  })();
  const [feed, exit, checks, read] = await Promise.allSettled([feedOrStop(feedAndDrain(back.stream, tar.child.stdin!), tar), tar.done, back.done, reading]);
  if (checks.status === 'rejected') {
    const why = describeError(checks.reason);
    throw new ListingFailedError(seen > 0 ? `the listing above came from a damaged file and cannot be trusted: ${why}` : why, { cause: checks.reason });
  }
  if (exit.status === 'rejected') {
    const unmatched = unmatchedPatterns(tar.stderrTail(), patterns, dotSlash);
    if (unmatched.length) throw new ListingFailedError(`no path in ${key} matches ${unmatched.map((p) => `"${p}"`).join(', ')} (patterns are tar --wildcards globs on the paths \`backup files\` prints)`);
    throw new ListingFailedError(describeError(exit.reason), { cause: exit.reason });
  }
  for (const r of [feed, read]) if (r.status === 'rejected') throw new ListingFailedError(describeError(r.reason), { cause: r.reason });
  return seen;
}
