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

export type SourcePlugin<Schema extends AnyObjectSchema = AnyObjectSchema> = PluginDefinition<Schema, SourceCommon, Source>;

/** Declares a source plugin with its options type inferred from the schema. */
export function defineSource<Schema extends AnyObjectSchema>(plugin: SourcePlugin<Schema>): SourcePlugin<Schema> {
  return plugin;
}

export type SourceOptions<Schema extends AnyObjectSchema> = z.output<Schema> & SourceCommon;
