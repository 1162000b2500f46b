/**
 * Sources whose runs are keyed per stored id (the vzdump source stores guest 101 as
 * `vzdump-101`): which ids they own, and which of them a destination holds. The plugin says
 * what is its own (`storedIds` in sources/types.ts); the core never knows it by name.
 */
import type { Job, LoadedSource } from '../config/job.js';
import type { Destination } from '../destinations/types.js';
import type { KeyLayout } from './keys.js';
import { fileOf } from './runs.js';

/** The source as the source of one of its stored ids: the same keys, that id. */
export function asStoredId(source: LoadedSource, id: string): LoadedSource {
  return { ...source, ...source.rebind({ id }) };
}

/** The job's source that stores runs under `id` as one of its stored ids, as that id's source. */
export function storedIdSource(job: Job, id: string): LoadedSource | undefined {
  const owner = job.sources.find((s) => s.plugin.storedIds?.owns(s.options, id));
  return owner && asStoredId(owner, id);
}

/** Manifests and claims name their source: `vzdump-101.manifest.json`, `vzdump-101.run-<uuid>.json`. */
const NAMING_FILE = /^(.+)\.(?:manifest|run-[0-9a-f-]{8,36})\.json$/;

/** The ids of `source` that have runs (or claims) on this destination, found by listing the layout's common root. */
export async function storedIdsOn(destination: Destination, layout: KeyLayout, source: LoadedSource): Promise<string[]> {
  const ids = source.plugin.storedIds;
  if (!ids) return [];
  const marker = '\u0000';
  const prefix = layout.listPrefix(marker);
  const cut = prefix.indexOf(marker);
  const root = cut === -1 ? prefix : prefix.slice(0, prefix.lastIndexOf('/', cut) + 1);
  const found = new Set<string>();
  for await (const object of destination.list(root)) {
    const id = NAMING_FILE.exec(fileOf(object.key))?.[1];
    if (id && !found.has(id) && ids.owns(source.options, id) && layout.parse(object.key, id)) found.add(id);
  }
  return sortIds(source, [...found]);
}

function sortIds(source: LoadedSource, ids: string[]): string[] {
  const compare = source.plugin.storedIds?.compare ?? ((a: string, b: string) => a.localeCompare(b));
  return ids.sort(compare);
}

/**
 * `list` and `verify` without `--source`: every source, a keyed-per-id source replaced by the
 * ids it has stored on these destinations. One that has stored nothing stays as it is (list
 * shows no run of it, verify says no run is stored). A destination that cannot be listed is
 * skipped here: the listing that follows reports it.
 */
export async function expandStoredIds(sources: readonly LoadedSource[], destinations: readonly { destination: Destination; layout: KeyLayout }[]): Promise<LoadedSource[]> {
  const out: LoadedSource[] = [];
  for (const source of sources) {
    if (!source.plugin.storedIds) {
      out.push(source);
      continue;
    }
    const ids = new Set<string>();
    for (const d of destinations) {
      for (const id of await storedIdsOn(d.destination, d.layout, source).catch(() => [] as string[])) ids.add(id);
    }
    if (ids.size === 0) out.push(source);
    else out.push(...sortIds(source, [...ids]).map((id) => asStoredId(source, id)));
  }
  return out;
}
