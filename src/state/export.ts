/** `backup history`: the history as flat rows, one per source run, for JSON and CSV export. */
import type { RunStatus } from '../report.js';
import type { HistoryRecord } from './history.js';

export interface HistoryRow {
  run_id: string;
  job: string;
  hostname: string;
  source: string;
  type: string;
  status: RunStatus;
  run_key: string;
  started_at: string;
  finished_at?: string;
  duration_seconds?: number;
  upload_seconds: number;
  raw_bytes?: number;
  stored_bytes: number;
  compression_ratio?: number;
  throughput_bytes_per_second?: number;
  /** `id:status` per destination. */
  destinations: string[];
  /** Runs kept on the destinations after retention (the largest count of any destination). */
  retained_runs: number;
  /** Runs retention removed, over all destinations. */
  deleted_runs: string[];
  warnings: string[];
  error?: string;
}

/** Which runs `history`, `status` and `report` look at. */
export interface HistoryFilter {
  /** Only source runs that started at or after this time. */
  since?: Date;
  /** Only these sources (ids); all when absent or empty. */
  sources?: readonly string[];
}

/**
 * The records with only the source runs the filter keeps; a record left with no source run
 * is dropped. The records are not changed.
 */
export function filterHistory(records: readonly HistoryRecord[], filter: HistoryFilter = {}): HistoryRecord[] {
  const since = filter.since?.getTime();
  const wanted = filter.sources?.length ? new Set(filter.sources) : undefined;
  if (since === undefined && !wanted) return [...records];
  const kept: HistoryRecord[] = [];
  for (const record of records) {
    const sources = record.sources.filter((s) => (!wanted || wanted.has(s.id)) && (since === undefined || Date.parse(s.started_at) >= since));
    if (sources.length) kept.push({ ...record, sources });
  }
  return kept;
}

export function historyRows(records: readonly HistoryRecord[], filter: string | HistoryFilter = {}): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const record of filterHistory(records, typeof filter === 'string' ? { sources: [filter] } : filter)) {
    for (const s of record.sources) {
      rows.push({
        run_id: record.run_id,
        job: record.job,
        hostname: record.hostname,
        source: s.id,
        type: s.type,
        status: s.status,
        run_key: s.run_key,
        started_at: s.started_at,
        finished_at: s.finished_at,
        duration_seconds: s.duration_seconds,
        upload_seconds: s.upload_seconds,
        raw_bytes: s.raw_bytes,
        stored_bytes: s.stored_bytes,
        compression_ratio: s.compression_ratio,
        throughput_bytes_per_second: s.throughput_bytes_per_second,
        destinations: s.destinations.map((d) => `${d.id}:${d.status}`),
        retained_runs: Math.max(0, ...s.destinations.map((d) => d.retained_runs?.length ?? 0)),
        deleted_runs: [...new Set(s.destinations.flatMap((d) => d.deleted_runs ?? []))],
        warnings: s.warnings,
        error: s.error,
      });
    }
  }
  return rows;
}

export const CSV_COLUMNS: readonly (keyof HistoryRow)[] = [
  'started_at',
  'finished_at',
  'job',
  'hostname',
  'source',
  'type',
  'status',
  'run_key',
  'duration_seconds',
  'upload_seconds',
  'raw_bytes',
  'stored_bytes',
  'compression_ratio',
  'throughput_bytes_per_second',
  'destinations',
  'retained_runs',
  'deleted_runs',
  'warnings',
  'error',
  'run_id',
];

/** RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled. */
function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = Array.isArray(value) ? value.join(' ') : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function historyCsv(rows: readonly HistoryRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of rows) lines.push(CSV_COLUMNS.map((c) => csvField(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
