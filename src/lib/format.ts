/**
 * Sizes, durations and run statuses as people read them (`12.3 MiB`, `4m 05s`, `OK with
 * warnings`): for the CLI's output, reports and notification texts alike.
 */

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  // Whole bytes below 1 KiB: a rate (bytes / seconds) is rarely a whole number.
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '?';
  // Short runs in tenths: "0.4s" says more than "0s".
  if (seconds < 9.95) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

const STATUS_WORD = { running: 'STARTED', success: 'OK', warning: 'OK with warnings', failure: 'FAILED' } as const;

export function statusWord(status: keyof typeof STATUS_WORD): string {
  return STATUS_WORD[status];
}
