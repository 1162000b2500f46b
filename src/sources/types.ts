import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { Logger } from '../log.js';
import type { AnyObjectSchema, JobInfo, PluginDefinition } from '../plugin.js';
import type { SourceCommon } from '../config/common.js';

/**
 * One dump a source yields. `stream` is the dumper's output; `done` settles when the dumper
 * has exited: it rejects (with a SourceError) when the dumper failed, even if the stream
 * already ended normally. The pipeline commits nothing before `done` resolves, because a
 * killed tar or an exit-2 mysqldump leaves a stream that looks complete.
 */
export interface Artifact {
  /** The dump's file name before compression/encryption suffixes: `etc.tar`, `shop.sql`. */
  name: string;
  stream: Readable;
  done: Promise<void>;
  /** Already compressed (vzdump archives): the pipeline does not compress it again. */
  precompressed?: boolean;
  /** Non-fatal problems (tar's "file changed as we read it"), complete once `done` resolved. */
  warnings?: string[];
  /** Bytes produced, when the source knows it once `done` resolved. */
  rawBytes?: () => number | undefined;
  /**
   * The file's own name, when the source hands over an existing file (vzdump's
   * `vzdump-qemu-101-2026_11_29-01_00_00.vma.zst`): recorded in the manifest, and `restore`
   * gives the file back under it.
   */
  originalName?: string;
}

export interface SourceContext {
  job: JobInfo;
  /** A private (0700) directory for this source's temporary files, removed after the run. */
  tmpdir: string;
  logger: Logger;
  /** Aborted when the run is interrupted (SIGINT/SIGTERM) or the artifact failed elsewhere. */
  signal: AbortSignal;
}

export interface Source {
  /** Cheap reachability check for `--dry-run` (connect, authenticate); dumps nothing. */
  check?(ctx: SourceContext): Promise<void>;
  /** Yields the source's artifacts one after another; the next is requested after the previous is stored. */
  open(ctx: SourceContext): AsyncIterable<Artifact>;
  /** Always called after `open` finished or failed: remove credentials files, snapshots, temporary instances. */
  cleanup?(ctx: SourceContext): Promise<void>;
  /**
   * `backup restore --to-database NAME`: load one restored (decrypted, decompressed) dump into
   * a database. Must refuse a database that exists and is not empty unless `force`; creates
   * the database only when it does not exist. Only database sources implement it.
   */
  restoreInto?(dump: Readable, target: RestoreTarget, ctx: SourceContext): Promise<void>;
}

export interface RestoreTarget {
  /** The database to load the dump into. */
  database: string;
  /** Load into a non-empty database anyway. */
  force: boolean;
  /** The artifact's name (`db.shop.sql`), for sources with several dumps per run. */
  artifactName: string;
}

/**
 * A source whose runs are stored under ids of their own rather than the source's id (the vzdump
 * source stores each guest as `vzdump-{VMID}`): list, verify, restore and status ask it which
 * ids are its own. The core never knows such a plugin by name.
 */
export interface StoredIds<Options> {
  /** The ids the options name on their own, before anything was stored (vzdump: one per `vmids` entry). */
  listed(options: Options): string[];
  /** Whether runs stored under `id` belong to this source (vzdump: `vzdump-{VMID}` of a guest it takes). */
  owns(options: Options, id: string): boolean;
  /** Orders ids for display (vzdump: by VMID); default: as strings. */
  compare?(a: string, b: string): number;
}

export interface SourceCapabilities<Options> {
  /**
   * Stored by a hook outside `backup run` (vzdump calls `backup vzdump-hook`): `run` skips the
   * source and logs this text, which says who stores it.
   */
  storedByHook?: string;
  /** The source's runs are keyed per stored id (see StoredIds). */
  storedIds?: StoredIds<Options>;
}

export type SourcePlugin<Schema extends AnyObjectSchema = AnyObjectSchema> = PluginDefinition<Schema, SourceCommon, Source> &
  SourceCapabilities<z.output<Schema> & SourceCommon>;

/** Declares a source plugin with its options type inferred from the schema. */
export function defineSource<Schema extends AnyObjectSchema>(plugin: SourcePlugin<Schema>): SourcePlugin<Schema> {
  return plugin;
}

export type SourceOptions<Schema extends AnyObjectSchema> = z.output<Schema> & SourceCommon;
