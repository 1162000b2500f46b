/**
 * Resolves what the job file leaves outside itself, before validation:
 * `${ENV_VAR}` in any string, and `<secret>_file` twins (`passphrase_file`, `dbpass_file`...)
 * read from disk. Every secret value found is registered with the redactor.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath, dirname } from 'node:path';
import type { ConfigProblem } from '../errors.js';
import { Redactor } from '../secrets.js';

export interface ResolveOptions {
  env: NodeJS.ProcessEnv;
  /** Relative `_file` paths are taken from the job file's folder. */
  baseDir: string;
  /** Keys that hold secrets everywhere (the global list). */
  secretKeys: ReadonlySet<string>;
  /** Extra secret keys of the plugin an item names: `url` is a secret for slack, not for prometheus. */
  pluginSecrets?: (kind: string, type: unknown) => readonly string[];
  redactor: Redactor;
}

/** Keys under `credentials` that name who, not the secret itself. */
const NON_SECRET_CREDENTIAL_KEYS = new Set(['username', 'user', 'workgroup', 'domain']);

export function pathLabel(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

function substituteEnv(value: string, path: (string | number)[], options: ResolveOptions, problems: ConfigProblem[]): string {
  // `$${NAME}` stays a literal `${NAME}`.
  return value.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name: string) => {
    if (match.startsWith('$$')) return match.slice(1);
    const found = options.env[name];
    if (found === undefined) {
      problems.push({ path: pathLabel(path), message: `environment variable ${name} is not set` });
      return '';
    }
    return found;
  });
}

function readSecretFile(file: string, path: (string | number)[], options: ResolveOptions, problems: ConfigProblem[]): string | undefined {
  const full = isAbsolute(file) ? file : resolvePath(options.baseDir, file);
  try {
    // One trailing newline is what editors and `echo` leave; it is not part of the secret.
    return readFileSync(full, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    problems.push({ path: pathLabel(path), message: `cannot read ${full} (${code})` });
    return undefined;
  }
}

const PLUGIN_LISTS = new Set(['sources', 'destinations', 'notifications']);

function walk(
  node: unknown,
  path: (string | number)[],
  options: ResolveOptions,
  problems: ConfigProblem[],
  inCredentials: boolean,
  secretKeys: ReadonlySet<string> = options.secretKeys,
): unknown {
  if (typeof node === 'string') return substituteEnv(node, path, options, problems);
  if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i], options, problems, inCredentials, secretKeys));
  if (node === null || typeof node !== 'object') return node;

  const input = node as Record<string, unknown>;
  if (path.length === 2 && PLUGIN_LISTS.has(String(path[0])) && options.pluginSecrets) {
    secretKeys = new Set([...secretKeys, ...options.pluginSecrets(String(path[0]), input.type)]);
  }
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(input)) {
    const keyPath = [...path, key];
    const value = walk(raw, keyPath, options, problems, inCredentials || key === 'credentials', secretKeys);
    const stem = key.endsWith('_file') ? key.slice(0, -'_file'.length) : undefined;
    if (stem && secretKeys.has(stem)) {
      if (input[stem] !== undefined) {
        problems.push({ path: pathLabel(keyPath), message: `give either ${stem} or ${key}, not both` });
        continue;
      }
      if (typeof value !== 'string' || value === '') {
        problems.push({ path: pathLabel(keyPath), message: 'must be a file path' });
        continue;
      }
      const secret = readSecretFile(value, keyPath, options, problems);
      if (secret !== undefined) {
        out[stem] = secret;
        options.redactor.add(secret);
      }
      continue;
    }
    out[key] = value;
    const isSecret = secretKeys.has(key) || (inCredentials && !NON_SECRET_CREDENTIAL_KEYS.has(key));
    if (isSecret && typeof value === 'string') options.redactor.add(value);
  }
  return out;
}

/** Returns the resolved tree and the problems found (unset variables, unreadable files). */
export function resolveJobTree(tree: unknown, options: ResolveOptions): { tree: unknown; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const resolved = walk(tree, [], options, problems, false);
  return { tree: resolved, problems };
}

export function jobBaseDir(jobPath: string): string {
  return dirname(resolvePath(jobPath));
}
