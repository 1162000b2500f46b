/**
 * Job file → Job: parse (JSON with comments), resolve `${ENV}` and `_file` secrets, apply the
 * original tool's conventions, validate every item against its plugin's schema, and collect
 * every problem with its JSON path before failing.
 */
import { z } from 'zod';
import { readFileSync, accessSync, mkdirSync, constants as fsConstants } from 'node:fs';
import { hostname as osHostname, homedir } from 'node:os';
import { basename, extname, join, resolve as resolvePath } from 'node:path';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { SECRET_KEYS, redactor as globalRedactor, type Redactor } from '../secrets.js';
import { sourcePlugins } from '../sources/registry.js';
import { destinationPlugins } from '../destinations/registry.js';
import { notificationPlugins } from '../notifications/registry.js';
import { bind, type AnyObjectSchema, type AnyPlugin, type PluginDefinition } from '../plugin.js';
import { DestinationCommon, NotificationCommon, SourceCommon } from './common.js';
import { JobRoot, JobRootShape, type Job, type LoadedDestination, type LoadedNotification, type LoadedPlugin, type LoadedSource } from './job.js';
import { parseJsonc } from './jsonc.js';
import { applyCompressOnly, checkModules, inferNotificationType } from './legacy.js';
import { allTypeNames, describeValue, findPlugin, parseWithPolicy, pluginSchema, typedOptions, type UnknownKeyPolicy } from './validate.js';
import { jobBaseDir, readEnvFile, resolveJobTree } from './resolve.js';
import { didYouMean } from './nearest.js';
import { checkRecipients, checkStateDir, checkTmpdir } from './paths.js';
import { checkKeyTemplate } from './key-template.js';

// zod compiles an object schema's parser (new Function) on its first use, which pays off only
// over many parses; a run parses each schema once or twice, so the interpreter is faster.
z.config({ jitless: true });

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  redactor?: Redactor;
  /** Label used in messages instead of the path (the embedded quickstart job). */
  label?: string;
  /** Unknown keys are errors (`--strict`); by default those not close to a known key are warnings. */
  strict?: boolean;
}

/** A job file that failed validation; carries the notifications that did validate, so they can be told. */
export class JobFileError extends ConfigError {
  constructor(
    problems: ConfigProblem[],
    readonly notifications: LoadedNotification[] = [],
    readonly jobPath?: string,
  ) {
    super(problems);
  }
}

/** Every key that is a secret somewhere (for the JSON Schema's `_file` twins). */
export function allSecretKeys(): Set<string> {
  const keys = new Set(SECRET_KEYS);
  for (const plugin of [...sourcePlugins, ...destinationPlugins, ...notificationPlugins]) {
    for (const key of plugin.secrets ?? []) keys.add(key);
  }
  return keys;
}

const PLUGINS_BY_KIND: Record<string, readonly AnyPlugin[]> = {
  sources: sourcePlugins,
  destinations: destinationPlugins,
  notifications: notificationPlugins,
};

/** The secret keys a plugin adds, for the item of `kind` whose `type` names it. */
export function pluginSecrets(kind: string, type: unknown): readonly string[] {
  if (typeof type !== 'string') return [];
  return findPlugin(PLUGINS_BY_KIND[kind] ?? [], type)?.secrets ?? [];
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const system = '/var/lib/backup-runner';
  try {
    mkdirSync(system, { recursive: true, mode: 0o700 });
    accessSync(system, fsConstants.W_OK);
    return system;
  } catch {
    const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
    return join(base, 'backup-runner');
  }
}

export function loadJobFile(path: string, options: LoadOptions = {}): Job {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new JobFileError([{ path: '', message: `cannot read job file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }]);
  }
  const label = options.label ?? path;
  return loadJobText(text, { ...options, label }, path === '<embedded>' ? path : resolvePath(path));
}

export function loadJobText(text: string, options: LoadOptions, jobPath: string): Job {
  const redactor = options.redactor ?? globalRedactor;
  const label = options.label ?? jobPath;
  const raw = parseJsonc(text, label);
  const baseDir = jobPath === '<embedded>' ? process.cwd() : jobBaseDir(jobPath);
  const warnings: string[] = [];
  const envProblems: ConfigProblem[] = [];
  // `env_file` values first, the process environment for the rest (see readEnvFile).
  const fileEnv = readEnvFile(raw, baseDir, envProblems, warnings);
  const env = { ...(options.env ?? process.env), ...fileEnv };
  const resolved = resolveJobTree(raw, { env, baseDir, secretKeys: SECRET_KEYS, pluginSecrets, redactor });
  const { tree } = resolved;
  const problems = [...envProblems, ...resolved.problems];
  const policy: UnknownKeyPolicy = { strict: options.strict, warnings };

  const rootResult = parseWithPolicy(JobRoot, tree, [], policy);
  let root = rootResult.data;
  if (!root) {
    problems.push(...rootResult.problems);
    // Unknown root keys do not stop the items from being checked: report every problem at once.
    const lenient = z.object(JobRootShape).safeParse(rootResult.input);
    if (!lenient.success) {
      // Still try the notifications, so a broken job file can be reported to them.
      const notifications = Array.isArray((tree as { notifications?: unknown }).notifications)
        ? loadNotifications((tree as { notifications: Record<string, unknown>[] }).notifications, [], { warnings: [] })
        : [];
      throw new JobFileError(problems, notifications, jobPath);
    }
    root = lenient.data;
  }
  const rootEncryption = applyEncryptionBlock(root, problems);
  if (root.recipients) root.recipients = checkRecipients(root.recipients, 'recipients', baseDir, problems);
  if (root.state_dir) checkStateDir(root.state_dir, 'state_dir', problems);
  if (root.tmpdir) checkTmpdir(root.tmpdir, 'tmpdir', problems);
  if (root.key_template !== undefined) checkKeyTemplate(root.key_template, 'key_template', problems);

  const knownTypes = new Set(allTypeNames([...sourcePlugins, ...destinationPlugins, ...notificationPlugins]));
  for (const module of checkModules(root.modules ?? [], knownTypes)) {
    warnings.push(`modules: "${module}" is not a known plugin; ignored (every plugin is built in)`);
  }

  // The original wrote `"dbpass": ""` for a passwordless login: no password, not an error.
  const sourceItems = root.sources.map((item) => (item.dbpass === '' ? withoutKey(item, 'dbpass') : item));
  const sources: LoadedSource[] = loadItems('sources', sourceItems, sourcePlugins, SourceCommon, problems, policy, (options) => options);
  for (const source of sources) {
    const choice = applyCompressOnly(source.options, source.path, problems);
    if (source.options.recipients) source.options.recipients = checkRecipients(source.options.recipients, `${source.path}.recipients`, baseDir, problems);
    if (source.options.tmpdir) checkTmpdir(source.options.tmpdir, `${source.path}.tmpdir`, problems);
    source.options.compression = (choice.compression ?? root.compression ?? 'zstd') as typeof source.options.compression;
    source.options.encryption = (choice.encryption ?? rootEncryption ?? 'openpgp') as typeof source.options.encryption;
    source.options.compression_level ??= root.compression_level;
    source.options.stall_timeout ??= root.stall_timeout;
    if (source.options.encryption === 'openpgp') {
      source.options.passphrase ??= root.passphrase;
      source.options.recipients ??= root.recipients;
      if (!source.options.passphrase && !source.options.recipients) {
        problems.push({
          path: source.path,
          message: 'no encryption key: set passphrase (or passphrase_file), recipients, or "encryption": "none" to store it unencrypted',
        });
      }
    }
  }
  const destinations: LoadedDestination[] = loadItems('destinations', root.destinations, destinationPlugins, DestinationCommon, problems, policy, (options) => options);
  for (const destination of destinations) {
    if (destination.options.key_template !== undefined) checkKeyTemplate(destination.options.key_template, `${destination.path}.key_template`, problems);
    destination.options.key_template ??= root.key_template;
  }
  const notifications = loadNotifications(root.notifications ?? [], problems, policy);

  checkUniqueIds(sources, problems);
  checkUniqueIds(destinations, problems);
  checkUniqueIds(notifications, problems);

  if (problems.length > 0) throw new JobFileError(problems, notifications, jobPath);

  const name = jobPath === '<embedded>' ? 'quickstart' : basename(jobPath, extname(jobPath));
  return {
    info: { path: jobPath, name, hostname: root.hostname ?? osHostname() },
    root,
    tmpdir: root.tmpdir ?? '/var/tmp',
    stateDir: root.state_dir ?? defaultStateDir(env),
    sources,
    destinations,
    notifications,
    warnings,
  };
}

/**
 * Validates each item of a list with its plugin's schema (the kind's `common` keys merged in)
 * and binds the plugin to the options it parsed; `finish` completes the options of the kind
 * (a notification's default id) before they are bound.
 */
function loadItems<
  Common extends AnyObjectSchema,
  Instance,
  Plugin extends PluginDefinition<AnyObjectSchema, z.output<Common>, Instance>,
  Options extends z.output<Common> & Record<string, unknown>,
>(
  kind: string,
  items: readonly Record<string, unknown>[],
  plugins: readonly Plugin[],
  common: Common,
  problems: ConfigProblem[],
  policy: UnknownKeyPolicy,
  finish: (options: z.output<Common> & Record<string, unknown>, plugin: Plugin, index: number) => Options,
): LoadedPlugin<Plugin, Options, Instance>[] {
  const loaded: LoadedPlugin<Plugin, Options, Instance>[] = [];
  items.forEach((item, index) => {
    const path = `${kind}[${index}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      problems.push({ path, message: `expected an object, got ${describeValue(item)}` });
      return;
    }
    const type = item.type;
    if (typeof type !== 'string' || type === '') {
      problems.push({ path: `${path}.type`, message: `required (one of: ${allTypeNames(plugins).join(', ')})` });
      return;
    }
    const plugin = findPlugin(plugins, type);
    if (!plugin) {
      problems.push({ path: `${path}.type`, message: `unknown ${kind.slice(0, -1)} type "${type}"${didYouMean(type, allTypeNames(plugins))}` });
      return;
    }
    if (plugin.retired) {
      problems.push({ path: `${path}.type`, message: plugin.retired });
      return;
    }
    const result = parseWithPolicy(pluginSchema(common, plugin), item, [kind, index], policy);
    problems.push(...result.problems);
    // Unknown keys aside, the cross-key checks still run, so every problem is named at once.
    const options = typedOptions(common, plugin, result.input);
    for (const problem of (options && plugin.problems?.(options)) ?? []) {
      problems.push({ path: problem.key ? `${path}.${problem.key}` : path, message: problem.message });
    }
    if (result.data && options) loaded.push({ path, plugin, ...bind(plugin, finish(options, plugin, index)) });
  });
  return loaded;
}

function loadNotifications(items: readonly Record<string, unknown>[], problems: ConfigProblem[], policy: UnknownKeyPolicy): LoadedNotification[] {
  const { warnings } = policy;
  const withTypes = items.map((item, index) => {
    if (item && typeof item === 'object' && item.type === undefined) {
      const inferred = inferNotificationType(item);
      if (inferred) {
        warnings.push(`notifications[${index}]: no "type"; treated as "${inferred}" from its keys`);
        return { ...item, type: inferred };
      }
    }
    return item;
  });
  return loadItems('notifications', withTypes, notificationPlugins, NotificationCommon, problems, policy, (options, plugin, index) => ({
    ...options,
    id: options.id ?? `${plugin.type}-${index + 1}`,
  }));
}

function checkUniqueIds(items: readonly { path: string; options: { id?: string } }[], problems: ConfigProblem[]): void {
  const seen = new Map<string, string>();
  for (const item of items) {
    const id = item.options.id;
    if (!id) continue;
    const first = seen.get(id);
    if (first) problems.push({ path: `${item.path}.id`, message: `"${id}" is already used by ${first}` });
    else seen.set(id, item.path);
  }
}

function withoutKey(item: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = item;
  return rest;
}

/**
 * The root `encryption`: "openpgp" or "none" as for a source, or the later original's
 * `{"type": "symmetric", "passphrase": ...}` block, which is a root passphrase.
 * Returns the default encryption for the sources.
 */
function applyEncryptionBlock(root: JobRoot, problems: ConfigProblem[]): 'openpgp' | 'none' | undefined {
  const encryption = root.encryption;
  if (encryption === undefined || typeof encryption === 'string') return encryption;
  if (root.passphrase !== undefined && root.passphrase !== encryption.passphrase) {
    problems.push({ path: 'encryption.passphrase', message: 'give the passphrase once: either the root passphrase or the encryption block' });
  }
  root.passphrase ??= encryption.passphrase;
  return 'openpgp';
}
