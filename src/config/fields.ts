/**
 * Small zod building blocks shared by every plugin schema, so the original tool's job-file
 * conventions (`compress_only: 1`, `notify_on_failure: 0`) are accepted in one place.
 */
import { z } from 'zod';

/** A flag the original wrote as 0/1; booleans and "true"/"false" strings are accepted too. */
export function flag(description: string) {
  return z
    .union([z.boolean(), z.literal(0), z.literal(1), z.enum(['0', '1', 'true', 'false'])])
    .transform((v) => v === true || v === 1 || v === '1' || v === 'true')
    .describe(description);
}

/** A non-empty string. */
export function text(description: string) {
  return z.string().min(1, 'must not be empty').describe(description);
}

/** A secret string. `${ENV}` and the `<key>_file` twin are resolved before validation. */
export function secret(description: string) {
  return z.string().min(1, 'must not be empty').describe(`${description} (secret: use \${ENV_VAR} or the _file twin to keep it out of the job file)`);
}

/** A TCP port, given as a number or a numeric string (the original's files have both). */
export function port(description: string) {
  return z.coerce.number().int().min(1).max(65535).describe(description);
}

/** A positive whole number, given as a number or a numeric string. */
export function count(description: string, min = 0) {
  return z.coerce.number().int().min(min).describe(description);
}

/** A list given either as an array or as one space-separated string (the original's `dbname`). */
export function wordList(description: string) {
  return z
    .union([z.array(z.string().min(1)), z.string().min(1)])
    .transform((v) => (Array.isArray(v) ? v : v.split(/\s+/).filter(Boolean)))
    .describe(description);
}

/** A duration such as `90s`, `30m`, `26h`, `7d`, or a number of seconds. */
export function duration(description: string) {
  return z
    .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)?$/, 'expected e.g. 30s, 15m, 26h, 7d')])
    .transform((v) => parseDurationSeconds(v))
    .describe(description);
}

export function parseDurationSeconds(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new Error(`not a duration: ${value}`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[unit] ?? 1;
  return n * factor;
}

/** A rate such as `10M` (bytes per second, K/M/G are powers of 1024) or a number of bytes per second. */
export function rate(description: string) {
  return z
    .union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?\s*[KMG]?(i?B)?(\/s)?$/i, 'expected e.g. 512K, 10M, 1G (bytes per second)')])
    .transform((v) => parseRate(v))
    .describe(description);
}

export function parseRate(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)/i.exec(value.trim());
  if (!m) throw new Error(`not a rate: ${value}`);
  const factor = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase()] ?? 1;
  return Number(m[1]) * factor;
}
