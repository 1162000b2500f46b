/**
 * What `backup report` shows, as data: per source, the runs of the window from the history
 * (the same history and the same status as `backup status --json`), the spans during which it
 * was overdue, and the runs its destinations hold with their state (`backup list`).
 */
import type { Job } from '../config/job.js';
import type { Listing, RunRow } from '../pipeline/list.js';
import { succeeded, type RunStatus } from '../report.js';
import { filterHistory } from '../state/export.js';
import type { HistoryRead, HistorySource } from '../state/history.js';
import { jobStatus, type JobStatus, type SourceStatus } from '../state/status.js';

/** How a run shows on the timeline: a success with warnings is a warning. */
export type RunMark = 'success' | 'warning' | 'failure' | 'running';

export interface ReportRun {
  started_at: string;
  finished_at?: string;
  mark: RunMark;
  run_key: string;
  error?: string;
  warnings: string[];
  duration_seconds?: number;
  raw_bytes?: number;
  stored_bytes: number;
  throughput_bytes_per_second?: number;
  destinations: { id: string; status: string; error?: string }[];
}

/** A time during which the source's last success was older than max_age. */
export interface OverdueSpan {
  from: string;
  to: string;
}

export interface ReportSource {
  id: string;
  status: SourceStatus;
  /** The runs started in the window, oldest first. */
  runs: ReportRun[];
  overdue: OverdueSpan[];
  /** The runs stored on the destinations (all of them: retention decides their number, not the window). */
  stored: RunRow[];
}

export interface ReportData {
  status: JobStatus;
  generated_at: string;
  /** The window the charts cover. */
  from: string;
  to: string;
  /** False with --no-destinations: the destinations were not listed. */
  listed: boolean;
  destinations: string[];
  problems: Listing['problems'];
  leftovers: Listing['leftovers'];
  sources: ReportSource[];
}

export interface ReportOptions {
  now?: Date;
  since?: Date;
  sources?: readonly string[];
  /** `listJob`'s answer; absent when the destinations were not listed. */
  listing?: Listing;
}

/** When nothing says how far back to look and there are no runs: a day. */
const EMPTY_WINDOW_MS = 24 * 3600_000;

function markOf(status: RunStatus, warnings: readonly string[]): RunMark {
  if (status === 'failure' || status === 'running') return status;
  return status === 'warning' || warnings.length > 0 ? 'warning' : 'success';
}

function reportRun(s: HistorySource): ReportRun {
  return {
    started_at: s.started_at,
    finished_at: s.finished_at,
    mark: markOf(s.status, s.warnings ?? []),
    run_key: s.run_key,
    error: s.error,
    warnings: s.warnings ?? [],
    duration_seconds: s.duration_seconds,
    raw_bytes: s.raw_bytes,
    stored_bytes: s.stored_bytes,
    throughput_bytes_per_second: s.throughput_bytes_per_second,
    destinations: (s.destinations ?? []).map((d) => ({ id: d.id, status: d.status, ...(d.error ? { error: d.error } : {}) })),
  };
}

/**
 * The spans of [from, to] during which the newest success before each moment was older than
 * maxAge (or there was none), as `backup status` would have said OVERDUE then. Every run of the
 * source counts, also those before the window: a success just before it keeps its start clear.
 */
function overdueSpans(runs: readonly HistorySource[], maxAgeSeconds: number | undefined, from: number, to: number): OverdueSpan[] {
  if (maxAgeSeconds === undefined || to <= from) return [];
  const maxAge = maxAgeSeconds * 1000;
  const successes = runs
    .filter((s) => succeeded(s.status))
    .map((s) => Date.parse(s.finished_at ?? s.started_at))
    .filter((t) => Number.isFinite(t))
    .sort((a, b) => a - b);
  const spans: { from: number; to: number }[] = [];
  // Before the first success there was none: overdue once the first recorded run ended (as
  // `status` says OVERDUE for a source that never succeeded); before that run, no history.
  const ends = runs.map((s) => Date.parse(s.finished_at ?? s.started_at)).filter((t) => Number.isFinite(t));
  let dueFrom = ends.length ? Math.min(...ends) : Infinity;
  for (const t of successes) {
    const start = Math.max(dueFrom, from);
    const end = Math.min(t, to);
    if (end > start) spans.push({ from: start, to: end });
    dueFrom = t + maxAge;
  }
  const start = Math.max(dueFrom, from);
  if (to > start) spans.push({ from: start, to });
  return spans.map((s) => ({ from: new Date(s.from).toISOString(), to: new Date(s.to).toISOString() }));
}

export function buildReport(job: Job, history: HistoryRead & { file: string }, options: ReportOptions = {}): ReportData {
  const now = options.now ?? new Date();
  const status = jobStatus(job, history, now, { since: options.since, sources: options.sources });
  const windowed = filterHistory(history.records, { since: options.since, sources: status.sources.map((s) => s.id) });
  const starts = windowed.flatMap((r) => r.sources.map((s) => Date.parse(s.started_at))).filter((t) => Number.isFinite(t));
  const from = options.since?.getTime() ?? (starts.length ? Math.min(...starts) : now.getTime() - EMPTY_WINDOW_MS);
  const to = Math.max(now.getTime(), ...starts);
  const listing = options.listing;
  const sources = status.sources.map((s): ReportSource => {
    const all = history.records.flatMap((r) => r.sources.filter((x) => x.id === s.id));
    const runs = windowed
      .flatMap((r) => r.sources.filter((x) => x.id === s.id))
      .sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at))
      .map(reportRun);
    return {
      id: s.id,
      status: s,
      runs,
      overdue: overdueSpans(all, s.max_age_seconds, from, to),
      stored: (listing?.runs ?? []).filter((r) => r.source === s.id),
    };
  });
  return {
    status,
    generated_at: now.toISOString(),
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    listed: listing !== undefined,
    destinations: job.destinations.map((d) => d.options.id),
    problems: listing?.problems ?? [],
    leftovers: listing?.leftovers ?? [],
    sources,
  };
}
