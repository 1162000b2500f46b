/**
 * `backup list`: every run of every source on every destination with its state, and what
 * interrupted uploads left behind (which the next run sweeps). The CLI only prints this.
 */
import type { Job } from '../config/job.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { jobOwner, openDestinations } from './restore.js';
import { dataObjects, listRuns, type RunOwner, type RunState } from './runs.js';
import { expandStoredIds, storedIdSource } from './stored-ids.js';

export interface RunRow {
  destination: string;
  source: string;
  run: string;
  time: string;
  state: RunState;
  owner?: RunOwner;
  note?: string;
  files: number;
  bytes: number;
}

export interface LeftoverRow {
  destination: string;
  source: string;
  key: string;
  size?: number;
}

export interface Listing {
  runs: RunRow[];
  /** Unfinished uploads (partial files, multipart uploads): the next run of this job removes those of dead runs. */
  leftovers: LeftoverRow[];
  /** Destinations that could not be listed (unreachable, unmounted): `list` fails when there is any. */
  problems: { destination: string; error: string }[];
}

export async function listJob(job: Job, options: { source?: string; destination?: string }, logger: Logger): Promise<Listing> {
  const listing: Listing = { runs: [], leftovers: [], problems: [] };
  const selected = options.source ? job.sources.filter((s) => s.options.id === options.source) : job.sources;
  // `--source vzdump-101`: a stored id of a source keyed per id (a vzdump guest).
  const wanted = options.source && selected.length === 0 ? [storedIdSource(job, options.source)].filter((s) => s !== undefined) : selected;
  for (const d of await openDestinations(job, logger, options.destination)) {
    const id = d.loaded.options.id;
    try {
      // A source keyed per id (vzdump guests) is listed under each id it stored on this destination.
      const sources = options.source ? wanted : await expandStoredIds(wanted, [d]);
      for (const s of sources) {
        for (const run of await listRuns(d.destination, d.layout, s.options.id, jobOwner(job))) {
          const data = dataObjects(run);
          listing.runs.push({
            destination: id,
            source: s.options.id,
            run: run.runKey,
            time: run.time.toISOString(),
            state: run.state,
            ...(run.owner ? { owner: run.owner } : {}),
            ...(run.note ? { note: run.note } : {}),
            files: data.length,
            bytes: data.reduce((n, o) => n + o.size, 0),
          });
        }
        if (d.destination.listPartial) {
          for await (const p of d.destination.listPartial(d.layout.listPrefix(s.options.id))) {
            if (d.layout.parse(p.key, s.options.id)) listing.leftovers.push({ destination: id, source: s.options.id, key: p.key, ...(p.size === undefined ? {} : { size: p.size }) });
          }
        }
      }
    } catch (error) {
      listing.problems.push({ destination: id, error: describeError(error) });
    } finally {
      await d.destination.close?.().catch(() => undefined);
    }
  }
  return listing;
}
