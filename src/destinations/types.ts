import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { AnyObjectSchema, PluginDefinition } from '../plugin.js';
import type { DestinationCommon } from '../config/common.js';

export interface StoredObject {
  /** The key relative to the destination's root (its `path`, `prefix` or folder). */
  key: string;
  size: number;
  lastModified?: Date;
}

/**
 * An upload that never finished: a temporary file (`.partial-*`), an unfinished multipart
 * upload, a temporary remote name. Left behind only when the process died mid-put
 * (kill -9, power loss); the next run sweeps those that no live run owns.
 */
export interface PartialUpload {
  /** The key the upload would have become once committed (relative to the destination's root). */
  key: string;
  /** Opaque to the core: what the destination needs to remove it (temp name, upload id). */
  handle: string;
  size?: number;
  /** When the upload started or was last written. */
  lastModified?: Date;
}

export interface PutOptions {
  /** Aborted when the source failed or the run was interrupted: the put must leave nothing visible. */
  signal: AbortSignal;
}

/**
 * The storage contract, kept small on purpose; retention, manifests, restore and verify are
 * written once over it. Keys use `/` separators and never start with `/`.
 */
export interface Destination {
  /**
   * Stores the stream under `key`. Atomic: the object becomes visible only once the stream
   * ended without error; if the stream errors or `signal` aborts, every trace is removed and
   * the promise rejects. Resolves with the number of bytes stored.
   */
  put(key: string, body: Readable, options: PutOptions): Promise<{ size: number }>;
  /** Every object whose key starts with `prefix` (all pages), in any order. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /** Streams the object back; rejects with ObjectNotFoundError when it does not exist. */
  get(key: string): Promise<Readable>;
  /** Removes the keys; keys that do not exist are not an error. */
  delete(keys: string[]): Promise<void>;
  /**
   * Unfinished uploads whose final key starts with `prefix`. Destinations whose service keeps
   * no trace of an interrupted upload (or discards it by itself) leave this out and say so in
   * their README.
   */
  listPartial?(prefix: string): AsyncIterable<PartialUpload>;
  /** Removes unfinished uploads found by `listPartial`; ones already gone are not an error. */
  removePartial?(partials: readonly PartialUpload[]): Promise<void>;
  /** Reachability and credentials check for `--dry-run`: stores nothing. */
  check?(): Promise<void>;
  /** Releases connections (SSH sessions, SMB clients). */
  close?(): Promise<void>;
}

export type DestinationPlugin<Schema extends AnyObjectSchema = AnyObjectSchema> = PluginDefinition<
  Schema,
  DestinationCommon,
  Destination
>;

export function defineDestination<Schema extends AnyObjectSchema>(plugin: DestinationPlugin<Schema>): DestinationPlugin<Schema> {
  return plugin;
}

export type DestinationOptions<Schema extends AnyObjectSchema> = z.output<Schema> & DestinationCommon;
