/**
 * Plugin lookup and zod validation with errors that name the place in the job file and,
 * for typos, the nearest valid name.
 */
import { z } from 'zod';
import type { ConfigProblem } from '../errors.js';
import type { AnyObjectSchema, AnyPlugin } from '../plugin.js';
import { didYouMean } from './nearest.js';
import { pathLabel } from './resolve.js';
import { innermost } from './schema-layers.js';

export function findPlugin<P extends AnyPlugin>(plugins: readonly P[], type: string): P | undefined {
  return plugins.find((p) => p.type === type || p.aliases?.includes(type));
}

export function allTypeNames(plugins: readonly AnyPlugin[]): string[] {
  return plugins.flatMap((p) => [p.type, ...(p.aliases ?? [])]);
}

/** The plugin's full schema: the kind's common keys plus its own, unknown keys rejected. */
export function pluginSchema(common: AnyObjectSchema, plugin: AnyPlugin): AnyObjectSchema {
  return z.strictObject({ ...common.shape, ...plugin.options.shape });
}

/**
 * An item's options with their types, unknown keys ignored (undefined when a value is invalid):
 * the kind's common keys read by the common schema, the plugin's own keys by the plugin's. zod
 * cannot type the merge of a shape known only at run time (pluginSchema); no plugin repeats a
 * common key (test/unit/registry.test.ts), so the two reads give what the full schema gives.
 */
export function typedOptions<Common extends AnyObjectSchema, Own extends AnyObjectSchema>(
  common: Common,
  plugin: { options: Own },
  input: unknown,
): (z.output<Own> & z.output<Common>) | undefined {
  const own = plugin.options.safeParse(keysOf(input, plugin.options));
  const shared = common.safeParse(keysOf(input, common));
  return own.success && shared.success ? { ...own.data, ...shared.data } : undefined;
}

/** The keys of `input` that `schema` knows. */
function keysOf(input: unknown, schema: AnyObjectSchema): Record<string, unknown> {
  const entries = input !== null && typeof input === 'object' ? Object.entries(input) : [];
  return Object.fromEntries(entries.filter(([key]) => Object.hasOwn(schema.shape, key)));
}

/**
 * How unknown keys are treated. The original tool ignored keys it did not know, so its job
 * files carry notes (`comment`, retired options): such a key loads with a warning. A key
 * within typo distance of a known one is an error with the suggestion, since a misspelt
 * `retention_copy` silently ignored would keep every run forever. `strict` makes every
 * unknown key an error.
 */
export interface UnknownKeyPolicy {
  strict?: boolean;
  /** Receives `sources[0].comment: unknown key, ignored`. */
  warnings: string[];
}

type Path = (string | number)[];

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

/** `the string "three"`, `the number 5`, `a list`: what the job file holds, in words. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.length <= 40 ? `the string ${JSON.stringify(value)}` : `a string of ${value.length} characters`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

const ARTICLE: Record<string, string> = { number: 'a number', string: 'a string', boolean: 'true or false', array: 'a list', object: 'an object', record: 'an object', int: 'a whole number' };

function isMissing(issue: z.core.$ZodIssue, input: unknown, path: readonly PropertyKey[]): boolean {
  return issue.code === 'invalid_type' && valueAt(input, path) === undefined;
}

type Issue = z.core.$ZodIssue;

/** The one alternative of a union that the value has the shape of (an object for a hook command), if there is one. */
function unionBranchOfShape(branches: Issue[][]): Issue[] | undefined {
  const shapeMismatch = (i: Issue) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value' || i.code === 'invalid_union');
  const matching = branches.filter((issues) => issues.length > 0 && !issues.some(shapeMismatch));
  return matching.length === 1 ? matching[0] : undefined;
}

/** Issues with each union replaced by the issues of the alternative the value was meant to be. */
function flattenIssues(issues: readonly Issue[], prefix: PropertyKey[] = []): Issue[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    const branch = issue.code === 'invalid_union' ? unionBranchOfShape(issue.errors) : undefined;
    return branch ? flattenIssues(branch, path) : [{ ...issue, path } as Issue];
  });
}

/** Zod's issues as job-file problems; `input` is what was parsed (to say what was given). */
export function zodProblems(error: z.ZodError, basePath: Path, input: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of flattenIssues(error.issues)) {
    const own = issue.path.filter((p) => typeof p !== 'symbol') as Path;
    const path = pathLabel([...basePath, ...own]);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ path: pathLabel([...basePath, ...own, key]), message: 'unknown key' });
    } else if (isMissing(issue, input, own)) {
      problems.push({ path, message: 'required' });
    } else if (issue.code === 'invalid_type') {
      problems.push({ path, message: `expected ${ARTICLE[issue.expected] ?? issue.expected}, got ${describeValue(valueAt(input, own))}` });
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0 && issue.errors.every((branch) => branch.some((i) => isMissing(i, input, own)))) {
      problems.push({ path, message: 'required' });
    } else if (issue.code === 'invalid_union') {
      problems.push({ path, message: `invalid value: ${describeValue(valueAt(input, own))} (${issue.message})` });
    } else {
      problems.push({ path, message: issue.message.replace(/^Invalid (input|option|value): /, '') });
    }
  }
  return problems;
}

function withoutKeys(input: unknown, paths: readonly PropertyKey[][]): unknown {
  const copy = structuredClone(input) as Record<PropertyKey, unknown>;
  for (const path of paths) {
    const parent = valueAt(copy, path.slice(0, -1));
    if (parent && typeof parent === 'object') delete (parent as Record<PropertyKey, unknown>)[path.at(-1)!];
  }
  return copy;
}

/**
 * Parses `input` with a strict object schema under the unknown-key policy: keys to ignore
 * are warned about and dropped, and the rest is parsed again. Returns the data or the problems.
 */
export function parseWithPolicy<S extends AnyObjectSchema>(
  schema: S,
  input: unknown,
  basePath: Path,
  policy: UnknownKeyPolicy,
): { data?: z.output<S>; problems: ConfigProblem[]; input: unknown } {
  let value = input;
  // Each pass drops the unknown keys zod found (nested ones can surface in a later pass), so
  // the loop ends: every pass removes at least one key or returns.
  for (;;) {
    const result = schema.safeParse(value);
    if (result.success) return { data: result.data, problems: [], input: value };
    const problems: ConfigProblem[] = [];
    const ignored: PropertyKey[][] = [];
    for (const issue of flattenIssues(result.error.issues)) {
      if (issue.code !== 'unrecognized_keys') continue;
      const candidates = keysAt(schema, issue.path);
      for (const key of issue.keys) {
        const where = pathLabel([...basePath, ...(issue.path.filter((p) => typeof p !== 'symbol') as Path), key]);
        const suggestion = didYouMean(key, candidates);
        if (suggestion) problems.push({ path: where, message: `unknown key${suggestion}` });
        else if (policy.strict) problems.push({ path: where, message: 'unknown key (refused by --strict)' });
        else {
          policy.warnings.push(`${where}: unknown key, ignored`);
          ignored.push([...issue.path, key]);
        }
      }
    }
    if (ignored.length > 0) {
      value = withoutKeys(value, ignored);
      continue;
    }
    const others = zodProblems(result.error, basePath, value).filter((p) => !p.message.startsWith('unknown key'));
    return { problems: [...problems, ...others], input: value };
  }
}

/** Keys a schema accepts at `path` (used to suggest the nearest name for an unknown key). */
export function keysAt(schema: AnyObjectSchema, path: PropertyKey[]): string[] {
  let candidates: z.ZodType[] = [schema];
  for (const part of path) {
    candidates = candidates.flatMap(objectsAndArrays).flatMap((inner): z.ZodType[] => {
      if (inner instanceof z.ZodArray) return [inner.element as z.ZodType];
      const next = (inner as z.ZodObject).shape[String(part)] as z.ZodType | undefined;
      return next ? [next] : [];
    });
  }
  return [...new Set(candidates.flatMap(objectsAndArrays).flatMap((inner) => (inner instanceof z.ZodObject ? Object.keys(inner.shape) : [])))];
}

/** The objects and arrays a schema may be, looking through optional, pipes and unions (hook commands). */
function objectsAndArrays(schema: z.ZodType): z.ZodType[] {
  const inner = innermost(schema);
  if (inner instanceof z.ZodUnion) return (inner.options as z.ZodType[]).flatMap(objectsAndArrays);
  return inner instanceof z.ZodObject || inner instanceof z.ZodArray ? [inner] : [];
}

