/**
 * The manifest is stored last in a run's folder: a run counts as complete on a destination
 * only when its manifest says so. It holds no data and no secret: sizes, hashes, how the
 * files were made.
 */
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { z } from 'zod';
import type { Destination } from '../destinations/types.js';

export const MANIFEST_FORMAT = 1;

export const ManifestFile = z.object({
  /** The stored file name (`db.sql.zst.gpg`). */
  file: z.string(),
  /** The source's name for the dump (`db.sql`). */
  name: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  raw_size: z.number().int().nonnegative().optional(),
  /** The file's own name when the source handed over an existing file (vzdump's archive, log, notes): `restore` gives it back under this name. */
  original_name: z.string().optional(),
});
export type ManifestFile = z.infer<typeof ManifestFile>;

export const Manifest = z.object({
  format: z.literal(MANIFEST_FORMAT),
  tool: z.string(),
  tool_version: z.string(),
  source: z.object({ id: z.string(), type: z.string(), name: z.string().optional() }),
  hostname: z.string(),
  /** The job file's name: with `hostname`, whose run this is (runs of other jobs under one prefix are left alone). */
  job: z.string().optional(),
  run_id: z.string(),
  /** YYYYmmddHHMMSS, the run key of the folder. */
  run_key: z.string(),
  started_at: z.string(),
  finished_at: z.string(),
  /** false when some artifact of the source failed: the listed files are good, the run is not whole. */
  complete: z.boolean(),
  compression: z.string(),
  encryption: z.string(),
  files: z.array(ManifestFile),
  warnings: z.array(z.string()).default([]),
});
export type Manifest = z.infer<typeof Manifest>;

/**
 * The mark a run leaves before its first artifact: `<id>.run-<run id>.json` in the run's folder.
 * A folder with a claim and no final manifest is a run that is still going (its process is
 * alive) or an interrupted one; never a copy. It also settles which run owns a slot when two
 * start at once (see run-slot.ts).
 */
export const RunClaim = z.object({
  format: z.literal(MANIFEST_FORMAT),
  state: z.literal('running'),
  tool: z.string(),
  tool_version: z.string(),
  source: z.object({ id: z.string(), type: z.string() }),
  hostname: z.string(),
  job: z.string(),
  run_id: z.string(),
  run_key: z.string(),
  started_at: z.string(),
  /** The runner's process identity (src/lib/process-identity.ts): tells a live run from a dead one on this host. */
  process: z.object({ pid: z.number().int(), boot: z.string().optional(), start: z.number().optional(), hostname: z.string() }),
});
export type RunClaim = z.infer<typeof RunClaim>;

const CLAIM_PATTERN = /^(.+)\.run-([0-9a-f-]{8,36})\.json$/;

export function claimFileName(sourceId: string, runId: string): string {
  return `${sourceId}.run-${runId}.json`;
}

/** Whether a file name in a run folder is a run claim of this source. */
export function isClaimFile(file: string, sourceId: string): boolean {
  const m = CLAIM_PATTERN.exec(file);
  return m !== null && m[1] === sourceId;
}

export async function storeJson(destination: Destination, key: string, value: unknown, signal: AbortSignal): Promise<number> {
  const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  const { size } = await destination.put(key, Readable.from([body]), { signal });
  return size;
}

export async function readClaim(destination: Destination, key: string): Promise<RunClaim> {
  const stream = await destination.get(key);
  return RunClaim.parse(JSON.parse(await text(stream)));
}

export async function storeManifest(destination: Destination, key: string, manifest: Manifest, signal: AbortSignal): Promise<number> {
  return storeJson(destination, key, manifest, signal);
}

export async function readManifest(destination: Destination, key: string): Promise<Manifest> {
  const stream = await destination.get(key);
  return Manifest.parse(JSON.parse(await text(stream)));
}
