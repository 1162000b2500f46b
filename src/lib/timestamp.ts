/**
 * The run timestamp as this tool writes it everywhere (keys, snapshot and instance names):
 * UTC, `YYYYmmddHHMMSS`, and its parser.
 */

export function formatTimestamp(time: Date): string {
  return time.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** The time a `YYYYmmddHHMMSS` stamp names; undefined for anything else (a 31st of February included). */
export function parseTimestamp(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value);
  if (!m) return undefined;
  const date = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(date.getTime()) || formatTimestamp(date) !== value ? undefined : date;
}
