/**
 * The original tool's conventions that need more than a schema: `modules`, notifications
 * written without a `type`, and `compress_only`.
 */
import type { ConfigProblem } from '../errors.js';

/** `backups.sources.mysql` → `mysql`. Returns the unknown module names. */
export function checkModules(modules: readonly string[], knownTypes: ReadonlySet<string>): string[] {
  const unknown: string[] = [];
  for (const module of modules) {
    const m = /^backups\.(sources|destinations|notifications)\.([A-Za-z0-9_-]+)$/.exec(module);
    const type = m?.[2]?.replace(/_/g, '-');
    if (!type || !(knownTypes.has(type) || knownTypes.has(m![2]!))) unknown.push(module);
  }
  return unknown;
}

/**
 * The original README's e-mail example has no `type`; its keys say what it is. Returns the
 * inferred type, or undefined when the keys do not identify one.
 */
export function inferNotificationType(item: Record<string, unknown>): string | undefined {
  if ('host' in item && ('success_to' in item || 'failure_to' in item)) return 'smtp';
  if ('flagfile' in item || 'filename' in item) return 'flagfile';
  return undefined;
}

export interface CompressionChoice {
  compression?: string;
  encryption?: string;
}

/** `compress_only: 1`: gzip, no encryption, as the original did. Conflicts are problems. */
export function applyCompressOnly(
  item: { compress_only?: boolean; compression?: string; encryption?: string },
  path: string,
  problems: ConfigProblem[],
): CompressionChoice {
  if (!item.compress_only) return { compression: item.compression, encryption: item.encryption };
  if (item.encryption === 'openpgp') problems.push({ path: `${path}.compress_only`, message: 'conflicts with encryption "openpgp"' });
  return { compression: item.compression ?? 'gzip', encryption: 'none' };
}
