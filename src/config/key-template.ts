/**
 * `key_template` checked when the job loads, so `backup validate` refuses a layout that would
 * fail (or write outside the destination's folder) only at run time.
 */
import { ConfigError, type ConfigProblem } from '../errors.js';
import { KeyLayout } from '../pipeline/keys.js';

export function checkKeyTemplate(template: string, path: string, problems: ConfigProblem[]): void {
  const found: string[] = [];
  try {
    // One leading "/" is what the original's README wrote; KeyLayout drops it.
    KeyLayout.validate(template.replace(/^\/+/, ''));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    found.push(...error.problems.map((p) => p.message));
  }
  // Keys must stay inside the destination's folder, whatever KeyLayout checks itself.
  const parts = template.replace(/^\/+/, '').split('/');
  if (parts.some((part) => part === '..' || part === '.') && !found.some((m) => m.includes('".."'))) {
    found.push('must not contain "." or ".." folders');
  }
  if (parts.slice(0, -1).some((part) => part === '')) found.push('has an empty folder name ("//")');
  for (const message of found) problems.push({ path, message });
}
