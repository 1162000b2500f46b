/**
 * What makes a `key_template` valid, checked when the job loads (so `backup validate` refuses
 * a layout that would fail, or write outside the destination's folder, only at run time) and
 * again by src/pipeline/keys.ts, which renders and parses keys in that layout.
 */
import { ConfigError, type ConfigProblem } from '../errors.js';

const PLACEHOLDERS = ['id', 'hostname', 'timestamp', 'date', 'yyyy-mm-dd', 'file'] as const;

/** Throws a ConfigError naming every problem of `template` (without its leading "/"). */
export function validateKeyTemplate(template: string): void {
  const problems: string[] = [];
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!)) problems.push(`unknown placeholder {${m[1]}}`);
  }
  if (!template.endsWith('{file}')) problems.push('must end with {file}');
  if (template.split('/').some((part) => part === '..' || part === '.')) problems.push('must not contain "." or ".." folders');
  if (!/\{(timestamp|date|yyyy-mm-dd)\}/.test(template)) problems.push('needs {timestamp} or {date} to tell runs apart');
  if (problems.length) throw new ConfigError(problems.map((message) => ({ path: 'key_template', message })));
}

export function checkKeyTemplate(template: string, path: string, problems: ConfigProblem[]): void {
  const found: string[] = [];
  try {
    // One leading "/" is what the original's README wrote; KeyLayout drops it.
    validateKeyTemplate(template.replace(/^\/+/, ''));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    found.push(...error.problems.map((p) => p.message));
  }
  const parts = template.replace(/^\/+/, '').split('/');
  if (parts.slice(0, -1).some((part) => part === '')) found.push('has an empty folder name ("//")');
  for (const message of found) problems.push({ path, message });
}
