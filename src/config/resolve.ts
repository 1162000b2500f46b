/**
 * Resolves what the job file leaves outside itself, before validation:
 * `${ENV_VAR}` in any string, and `<secret>_file` twins (`passphrase_file`, `dbpass_file`...)
 * read from disk. Every secret value found is registered with the redactor.
 */
import { readFileSync, statSync } from 'node:fs';
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

/**
 * Keys naming who logs in, next to a secret: HTTP Basic auth sends `user:secret` base64-encoded
 * (Prometheus, Elasticsearch, B2's key id and key, Dropbox's app key and secret), so the pair is
 * registered too.
 */
const LOGIN_NAME_KEYS = ['username', 'user', 'dbuser', 'ssh_user', 'application_key_id', 'app_key', 'access_key', 'aws_access_key_id', 'client_id'];

export function pathLabel(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function substituteEnv(value: string, path: (string | number)[], options: ResolveOptions, problems: ConfigProblem[]): string {
  // `$${NAME}` stays a literal `${NAME}`. A `${` without its `}` is a mistake, not a literal.
  return value.replace(/\$?\$\{([^}]*)(\}?)/g, (match, name: string, close: string) => {
    if (match.startsWith('$$')) return match.slice(1);
    // Quote the reference only when it looks like a variable name: the string may be a secret.
    const shown = VARIABLE_NAME.test(name) ? `"\${${name}${close}"` : '"${"';
    if (!close) {
      problems.push({ path: pathLabel(path), message: `${shown} has no closing } (write $\${ for a literal \${)` });
      return match;
    }
    if (!VARIABLE_NAME.test(name)) {
      problems.push({ path: pathLabel(path), message: `${shown} must name an environment variable: \${NAME} with letters, digits and _ (write $\${ for a literal \${)` });
      return match;
    }
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
  if (typeof node === 'string') {
    // A lone surrogate (`"\uD800"`) is not text: no file name, URL or password can hold it.
    if (LONE_SURROGATE.test(node)) {
      problems.push({ path: pathLabel(path), message: 'is not valid Unicode text (a lone \\uD800-\\uDFFF escape)' });
      return node.replace(new RegExp(LONE_SURROGATE, 'g'), '\uFFFD');
    }
    return substituteEnv(node, path, options, problems);
  }
  if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i], options, problems, inCredentials, secretKeys));
  if (node === null || typeof node !== 'object') return node;

  const input = node as Record<string, unknown>;
  if (path.length === 2 && PLUGIN_LISTS.has(String(path[0])) && options.pluginSecrets) {
    secretKeys = new Set([...secretKeys, ...options.pluginSecrets(String(path[0]), input.type)]);
  }
  const out: Record<string, unknown> = {};
  const secrets: string[] = [];
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
        secrets.push(secret);
      }
      continue;
    }
    out[key] = value;
    if (typeof value === 'string') options.redactor.addUrlLogin(value);
    const isSecret = secretKeys.has(key) || (inCredentials && !NON_SECRET_CREDENTIAL_KEYS.has(key));
    if (isSecret && typeof value === 'string') secrets.push(value);
  }
  for (const secret of secrets) options.redactor.add(secret);
  for (const nameKey of LOGIN_NAME_KEYS) {
    const name = out[nameKey];
    if (typeof name === 'string') for (const secret of secrets) options.redactor.addLogin(name, secret);
  }
  return out;
}

/**
 * The job's `env_file`: `KEY=VALUE` lines (blank lines and `#` comments skipped, `export `
 * allowed, one pair of surrounding quotes removed) for `${VAR}` in the job file. Its values
 * come first and the process environment fills in the names it does not set: a hook started
 * with an empty environment (vzdump) needs nothing else, and variables the caller happens to
 * set (vzdump's HOSTNAME is a guest's name) never override the job's own settings.
 */
export function readEnvFile(tree: unknown, baseDir: string, problems: ConfigProblem[], warnings: string[]): Record<string, string> | undefined {
  if (!tree || typeof tree !== 'object' || Array.isArray(tree)) return undefined;
  const file = (tree as Record<string, unknown>).env_file;
  if (file === undefined) return undefined;
  if (typeof file !== 'string' || file === '') {
    problems.push({ path: 'env_file', message: 'expected the path of a file of KEY=VALUE lines' });
    return undefined;
  }
  const full = isAbsolute(file) ? file : resolvePath(baseDir, file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
    const mode = statSync(full).mode & 0o777;
    if (mode & 0o077) warnings.push(`env_file: ${full} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 ${full}`);
  } catch (error) {
    problems.push({ path: 'env_file', message: `cannot read ${full} (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
    return undefined;
  }
  const values: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!m || !VARIABLE_NAME.test(m[1]!)) {
      // The line may hold a secret: name its number only.
      problems.push({ path: 'env_file', message: `${full} line ${index + 1}: expected KEY=VALUE (KEY of letters, digits and _)` });
      return;
    }
    let value = m[2]!;
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) value = value.slice(1, -1);
    values[m[1]!] = value;
  });
  return values;
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
