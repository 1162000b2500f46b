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
});
export type ManifestFile = z.infer<typeof ManifestFile>;

export const Manifest = z.object({
  format: z.literal(MANIFEST_FORMAT),
  tool: z.string(),
  tool_version: z.string(),
  source: z.object({ id: z.string(), type: z.string(), name: z.string().optional() }),
  hostname: z.string(),
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

export async function storeManifest(destination: Destination, key: string, manifest: Manifest, signal: AbortSignal): Promise<number> {
  const body = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const { size } = await destination.put(key, Readable.from([body]), { signal });
  return size;
}

export async function readManifest(destination: Destination, key: string): Promise<Manifest> {
  const stream = await destination.get(key);
  return Manifest.parse(JSON.parse(await text(stream)));
}
