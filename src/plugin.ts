/**
 * The shape every plugin (source, destination, notification) declares. A plugin is one unit:
 * its zod options schema (every field described: the text becomes the JSON Schema and the
 * docs), the secret keys it adds, and a factory. Plugin modules must be cheap to import:
 * heavy SDKs are imported inside `create` or inside the instance's methods.
 */
import type { z } from 'zod';
import type { Logger } from './log.js';

export interface JobInfo {
  /** Absolute path of the job file (or `<embedded>` for the quickstart default). */
  path: string;
  /** The job file's name without extension: used for locks, state and metric labels. */
  name: string;
  hostname: string;
}

export interface CreateContext {
  job: JobInfo;
  logger: Logger;
}

// A zod object schema of any shape; plugin option schemas are strict objects.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyObjectSchema = z.ZodObject<any>;

export interface PluginDefinition<Schema extends AnyObjectSchema, Common, Instance> {
  /** The job file's `type` string. */
  type: string;
  /** Other `type` strings accepted for this plugin (the original's names). */
  aliases?: readonly string[];
  /** One line for `backup schema` and the README. */
  description: string;
  /** The plugin's own keys; the kind's common keys (id, retention, notify_on_*) are merged in. */
  options: Schema;
  /** Keys of this plugin that hold secrets, besides the global list in secrets.ts. */
  secrets?: readonly string[];
  /** When set, loading a job with this type fails with this message (retired services). */
  retired?: string;
  /** Checks across keys that a schema cannot express; each problem names the key. */
  problems?(options: z.output<Schema> & Common): { key: string; message: string }[];
  create(options: z.output<Schema> & Common, ctx: CreateContext): Instance | Promise<Instance>;
}

/**
 * Any plugin of any kind, its options type erased: what lookup by type, the JSON Schema and the
 * docs need. Every kind's plugin type (SourcePlugin, DestinationPlugin, NotificationPlugin) is one.
 */
export type AnyPlugin = PluginDefinition<AnyObjectSchema, never, unknown>;

/**
 * A plugin bound to options its own schema parsed. Lists of plugins erase each plugin's options
 * type, so calling `plugin.create(options)` from such a list would need a cast; `bind` pairs the
 * two while both types are still known (an existential type): afterwards `create(ctx)` needs no
 * options argument, and `options` shows only what every plugin of the kind has (`Options`).
 */
export interface Bound<Options, Instance> {
  /** The parsed options. Changes to its keys (the loader's defaults) are what `create` sees. */
  readonly options: Options;
  create(ctx: CreateContext): Promise<Instance>;
  /** The same plugin bound to a copy of the options with `patch` over them (a source as one of its stored ids). */
  rebind(patch: Partial<Options>): Bound<Options, Instance>;
}

/** Binds `options`, which `plugin`'s schema produced, to the plugin (see Bound). */
export function bind<Schema extends AnyObjectSchema, Common, Instance, Options extends z.output<Schema> & Common>(
  plugin: PluginDefinition<Schema, Common, Instance>,
  options: Options,
): Bound<Options, Instance> {
  return {
    options,
    create: async (ctx) => plugin.create(options, ctx),
    rebind: (patch) => bind(plugin, { ...options, ...patch }),
  };
}

/**
 * A schema built on its first use, then kept. zod builds a schema's objects when the schema
 * expression runs, a fraction of a millisecond per field: built at import, the schemas of
 * every plugin cost each start about 20 ms, although a job uses two or three plugins. A plugin
 * module exports its options as `lazySchema(() => z.object({...}))` and its definition reads it
 * through a getter (`get options() { return XOptions(); }`), so only the plugins a job names,
 * `backup schema` and the docs build theirs.
 */
export function lazySchema<Schema>(build: () => Schema): () => Schema {
  let schema: Schema | undefined;
  return () => (schema ??= build());
}
