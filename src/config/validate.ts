/**
 * Plugin lookup and zod validation with errors that name the place in the job file and,
 * for typos, the nearest valid name.
 */
import { z } from 'zod';
import type { ConfigProblem } from '../errors.js';
import type { AnyObjectSchema } from '../plugin.js';
import { didYouMean } from './nearest.js';
import { pathLabel } from './resolve.js';

interface NamedPlugin {
  type: string;
  aliases?: readonly string[];
  options: AnyObjectSchema;
  retired?: string;
}

export function findPlugin<P extends NamedPlugin>(plugins: readonly P[], type: string): P | undefined {
  return plugins.find((p) => p.type === type || p.aliases?.includes(type));
}

export function allTypeNames(plugins: readonly NamedPlugin[]): string[] {
  return plugins.flatMap((p) => [p.type, ...(p.aliases ?? [])]);
}

/** The plugin's full schema: the kind's common keys plus its own, unknown keys rejected. */
export function pluginSchema(common: AnyObjectSchema, plugin: NamedPlugin): AnyObjectSchema {
  return z.strictObject({ ...common.shape, ...plugin.options.shape });
}

export function zodProblems(error: z.ZodError, basePath: (string | number)[], knownKeys?: (path: PropertyKey[]) => string[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const path = [...basePath, ...(issue.path.filter((p) => typeof p !== 'symbol') as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      const candidates = knownKeys?.(issue.path) ?? [];
      for (const key of issue.keys) {
        problems.push({ path: pathLabel([...path, key]), message: `unknown key${didYouMean(key, candidates)}` });
      }
      continue;
    }
    if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
      problems.push({ path: pathLabel(path), message: 'required' });
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0 && issue.errors.every((branch) => branch.some((i) => i.code === 'invalid_type' && /received undefined/.test(i.message)))) {
      problems.push({ path: pathLabel(path), message: 'required' });
      continue;
    }
    if (issue.code === 'invalid_union') {
      problems.push({ path: pathLabel(path), message: `invalid value (${issue.message})` });
      continue;
    }
    problems.push({ path: pathLabel(path), message: issue.message });
  }
  return problems;
}

/** Keys a schema accepts at `path` (used to suggest the nearest name for an unknown key). */
export function keysAt(schema: AnyObjectSchema, path: PropertyKey[]): string[] {
  let current: z.ZodType = schema;
  for (const part of path) {
    const inner = unwrap(current);
    if (inner instanceof z.ZodObject) {
      const next = (inner.shape as Record<string, z.ZodType>)[String(part)];
      if (!next) return [];
      current = next;
    } else if (inner instanceof z.ZodArray) {
      current = inner.element as z.ZodType;
    } else return [];
  }
  const inner = unwrap(current);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (let i = 0; i < 10; i++) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else break;
  }
  return current;
}
