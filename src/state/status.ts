/**
 * `backup status`: what the history says about each source of a job: the last run, the last
 * success and its age, success rate, average duration, size trend, and whether the source
 * is OVERDUE (its last success is older than `max_age`, or it never succeeded).
 */
import type { Job } from '../config/job.js';
import { succeeded, type RunReport, type RunStatus, type SourceReport } from '../report.js';
import type { HistoryRecord, HistorySource } from './history.js';

/** Successful runs the size trend compares the newest one with. */
const TREND_WINDOW = 7;

export type SourceState = 'OK' | 'OVERDUE' | 'FAILED' | 'NO HISTORY';

export interface SourceRunSummary {
  started_at: string;
  finished_at?: string;
  status: RunStatus;
  error?: string;
  stored_bytes: number;
  duration_seconds?: number;
}

export interface SizeTrend {
  /** Stored bytes of the newest successful run. */
  last_bytes: number;
  /** Mean stored bytes of up to 7 successful runs before it. */
  previous_average_bytes?: number;
  /** Change of the newest against that mean, in percent. */
  change_percent?: number;
  /** Stored bytes of the newest successful runs, oldest first. */
  recent_bytes: number[];
}

export interface SourceStatus {
  id: string;
  name?: string;
  type?: string;
  state: SourceState;
  overdue: boolean;
  /** Why the state is what it is, in words. */
  reason: string;
  runs: number;
  successes: number;
  /** Successes / runs, 0..1; absent without runs. */
  success_rate?: number;
  /** Mean duration of the successful runs. */
  average_duration_seconds?: number;
  last_run?: SourceRunSummary;
  last_success?: SourceRunSummary;
  /** Seconds since the last success finished. */
  age_seconds?: number;
  max_age_seconds?: number;
  size_trend?: SizeTrend;
}

export interface JobStatus {
  job: string;
  job_file: string;
  hostname: string;
  checked_at: string;
  /** With --since: the start of the window the statistics cover. */
  since?: string;
  history_file: string;
  /** Runs recorded in the history (in the window, of the sources shown). */
  runs: number;
  /** Unreadable history lines skipped (a torn last line after a crash). */
  skipped_lines: number;
  overdue: string[];
  sources: SourceStatus[];
}

export interface StatusRow {
  id: string;
  name?: string;
  type?: string;
  maxAge?: number;
}

function finishedMs(s: Pick<HistorySource, 'finished_at' | 'started_at'>): number {
  return Date.parse(s.finished_at ?? s.started_at);
}

function summary(s: HistorySource): SourceRunSummary {
  return {
    started_at: s.started_at,
    finished_at: s.finished_at,
    status: s.status,
    error: s.error,
    stored_bytes: s.stored_bytes,
    duration_seconds: s.duration_seconds,
  };
}

/**
 * The sources `status` reports: the job's own, and for a source keyed per id (vzdump) the ids
 * it owns (`storedIds`: its guests in `vmids` and those the history knows).
 */
export function rowsOf(job: Job, records: readonly HistoryRecord[]): StatusRow[] {
  const rootMaxAge = job.root.max_age;
  const rows: StatusRow[] = [];
  const keyed: { row: StatusRow; source: Job['sources'][number] }[] = [];
  for (const s of job.sources) {
    const row = { id: s.options.id, name: s.options.name, type: s.plugin.type, maxAge: s.options.max_age ?? rootMaxAge };
    if (s.plugin.storedIds) keyed.push({ row, source: s });
    else rows.push(row);
  }
  // A source keyed per id (vzdump guests) shows each id it owns: those it lists and those the history knows.
  const historyIds = [...new Set(records.flatMap((r) => r.sources.map((s) => s.id)))];
  const taken = new Set<string>();
  for (const { row, source } of keyed) {
    const ids = source.plugin.storedIds!;
    const own = [...new Set([...historyIds.filter((id) => ids.owns(source.options, id)), ...ids.listed(source.options)])].filter((id) => !taken.has(id));
    own.sort(ids.compare ?? ((x, y) => x.localeCompare(y)));
    for (const id of own) taken.add(id);
    // One that has stored nothing yet and lists no ids is reported under its own id, so a hook that never ran is still seen.
    if (own.length === 0) rows.push(row);
    else rows.push(...own.map((id) => ({ id, type: row.type, maxAge: row.maxAge })));
  }
  return rows;
}

/**
 * One source's status. `since` narrows the statistics (runs, successes, success rate, average
 * duration, size trend) to a window; the last run, the last success, its age and OVERDUE come
 * from every run, whenever it was: they say how things stand now, and a window shorter than
 * max_age must not make a source overdue.
 */
function sourceStatus(row: StatusRow, runs: readonly HistorySource[], now: Date, since?: Date): SourceStatus {
  const everything = [...runs].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
  const last = everything.at(-1);
  const lastSuccess = everything.filter((s) => succeeded(s.status)).at(-1);
  const sorted = since === undefined ? everything : everything.filter((s) => Date.parse(s.started_at) >= since.getTime());
  const successes = sorted.filter((s) => succeeded(s.status));
  const durations = successes.map((s) => s.duration_seconds).filter((d): d is number => d !== undefined);
  const status: SourceStatus = {
    id: row.id,
    name: row.name ?? last?.name,
    type: row.type ?? last?.type,
    state: 'OK',
    overdue: false,
    reason: '',
    runs: sorted.length,
    successes: successes.length,
    success_rate: sorted.length ? successes.length / sorted.length : undefined,
    average_duration_seconds: durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : undefined,
    last_run: last && summary(last),
    last_success: lastSuccess && summary(lastSuccess),
    age_seconds: lastSuccess ? Math.max(0, (now.getTime() - finishedMs(lastSuccess)) / 1000) : undefined,
    max_age_seconds: row.maxAge,
  };
  if (successes.length) {
    const recent = successes.slice(-(TREND_WINDOW + 1)).map((s) => s.stored_bytes);
    const newest = recent.at(-1)!;
    const before = recent.slice(0, -1);
    const mean = before.length ? before.reduce((a, b) => a + b, 0) / before.length : undefined;
    status.size_trend = {
      last_bytes: newest,
      previous_average_bytes: mean === undefined ? undefined : Math.round(mean),
      change_percent: mean ? Math.round(((newest - mean) / mean) * 1000) / 10 : undefined,
      recent_bytes: recent,
    };
  }

  if (row.maxAge !== undefined && (status.age_seconds === undefined || status.age_seconds > row.maxAge)) {
    status.state = 'OVERDUE';
    status.overdue = true;
    status.reason = lastSuccess
      ? `last success ${lastSuccess.finished_at ?? lastSuccess.started_at} is older than max_age ${formatAge(row.maxAge)} (${formatAge(status.age_seconds!)} ago)`
      : `no successful run recorded (max_age ${formatAge(row.maxAge)})`;
  } else if (!last) {
    status.state = 'NO HISTORY';
    status.reason = 'no run recorded';
  } else if (!succeeded(last.status)) {
    status.state = 'FAILED';
    status.reason = `last run failed: ${last.error ?? 'unknown error'}`;
  } else {
    status.reason = lastSuccess ? `last success ${formatAge(status.age_seconds!)} ago` : '';
  }
  return status;
}

export interface StatusFilter {
  /** Statistics over the runs started at or after this time (see sourceStatus). */
  since?: Date;
  /** Only these sources (ids, or vzdump guest ids); all when absent or empty. */
  sources?: readonly string[];
}

export function jobStatus(
  job: Job,
  history: { records: HistoryRecord[]; skipped: number; file: string },
  now = new Date(),
  filter: StatusFilter = {},
): JobStatus {
  const wanted = filter.sources?.length ? new Set(filter.sources) : undefined;
  const sources = rowsOf(job, history.records)
    .filter((row) => !wanted || wanted.has(row.id))
    .map((row) =>
      sourceStatus(
        row,
        history.records.flatMap((r) => r.sources.filter((s) => s.id === row.id)),
        now,
        filter.since,
      ),
    );
  const ids = new Set(sources.map((s) => s.id));
  const since = filter.since?.getTime();
  const counted =
    wanted || since !== undefined
      ? history.records.filter((r) => r.sources.some((s) => ids.has(s.id) && (since === undefined || Date.parse(s.started_at) >= since))).length
      : history.records.length;
  return {
    job: job.info.name,
    job_file: job.info.path,
    hostname: job.info.hostname,
    checked_at: now.toISOString(),
    ...(filter.since ? { since: filter.since.toISOString() } : {}),
    history_file: history.file,
    runs: counted,
    skipped_lines: history.skipped,
    overdue: sources.filter((s) => s.overdue).map((s) => s.id),
    sources,
  };
}

/** An age the way operators write max_age: 45s, 1m30s, 5h12m, 26h, 3d, 4d6h. */
export function formatAge(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 10 * 3600) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  if (s < 72 * 3600) return `${Math.round(s / 3600)}h`;
  const hours = Math.round(s / 3600);
  return `${Math.floor(hours / 24)}d${hours % 24 ? `${hours % 24}h` : ''}`;
}

/**
 * The overdue finding as a failed run, for the job's notifiers: one failed source per overdue
 * source, its error starting with OVERDUE. Nothing ran: no artifacts, no destinations.
 */
export function overdueRunReport(status: JobStatus, toolVersion: string, runId: string): RunReport {
  const overdue = status.sources.filter((s) => s.overdue);
  const sources: SourceReport[] = overdue.map((s) => ({
    id: s.id,
    name: s.name ?? s.id,
    type: s.type ?? 'unknown',
    status: 'failure',
    runKey: '',
    startedAt: status.checked_at,
    finishedAt: status.checked_at,
    durationSeconds: 0,
    error: `OVERDUE: ${s.reason}`,
    warnings: [],
    artifacts: [],
    destinations: [],
    compression: 'none',
    encryption: 'none',
  }));
  return {
    runId,
    jobName: status.job,
    jobPath: status.job_file,
    hostname: status.hostname,
    toolVersion,
    status: 'failure',
    startedAt: status.checked_at,
    finishedAt: status.checked_at,
    durationSeconds: 0,
    dryRun: false,
    error: `OVERDUE: ${overdue.map((s) => s.id).join(', ')} (no successful backup within max_age)`,
    sources,
    logTail: overdue.map((s) => `OVERDUE ${s.id}: ${s.reason}`),
  };
}
