/**
 * `backup status JOB` (a Nagios/Icinga-style check: exit 1 when a source is OVERDUE) and
 * `backup history JOB` (the recorded runs as a table, JSON or CSV).
 */
import { randomUUID } from 'node:crypto';
import type { Job } from '../config/job.js';
import { parseDurationSeconds } from '../config/fields.js';
import { ExitCode, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { formatBytes, formatDuration } from '../lib/format.js';
import { listJob } from '../pipeline/list.js';
import { NotificationDispatcher } from '../pipeline/notify.js';
import { buildReport } from '../report/data.js';
import { renderReportHtml } from '../report/html.js';
import { redact } from '../secrets.js';
import { readHistory } from '../state/history.js';
import { historyCsv, historyRows, type HistoryFilter } from '../state/export.js';
import { formatAge, jobStatus, overdueRunReport, rowsOf, type JobStatus } from '../state/status.js';
import { TOOL_VERSION } from '../version.js';
import { withJob, type GlobalOptions } from './context.js';
import { writeFileAtomically } from '../lib/atomic-file.js';

export interface StatusCommandOptions extends GlobalOptions {
  json?: boolean;
  notify?: boolean;
  source?: string;
  since?: string;
}

export interface HistoryCommandOptions extends GlobalOptions {
  source?: string;
  since?: string;
  json?: boolean;
  csv?: boolean;
}

/**
 * `--since`: a duration back from now (`90m`, `36h`, `7d`, seconds) or a date/time
 * (`2026-03-01`, `2026-03-01T02:00:00Z`; without a zone, UTC).
 */
function parseSince(value: string | undefined, now = new Date()): Date | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?\s*(ms|s|m|h|d)?$/.test(text)) return new Date(now.getTime() - parseDurationSeconds(text) * 1000);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const iso = text.replace(' ', 'T');
    const zoned = /T.*(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? iso : iso.includes('T') ? `${iso}Z` : `${iso}T00:00:00Z`;
    const date = new Date(zoned);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new UsageError(`--since ${JSON.stringify(value)}: expected a duration back from now (90m, 36h, 7d) or a date (2026-03-01, 2026-03-01T02:00:00Z)`);
}

/** `--source a,b`: the ids, each checked against the sources the job and its history know. */
function parseSources(value: string | undefined, known: readonly string[]): string[] | undefined {
  if (value === undefined) return undefined;
  const ids = value.split(',').map((v) => v.trim()).filter(Boolean);
  if (ids.length === 0) throw new UsageError('--source: give one or more source ids, separated by commas');
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length) throw new UsageError(`--source: no source ${unknown.map((u) => JSON.stringify(u)).join(', ')} in this job (sources: ${known.join(', ')})`);
  return ids;
}

/**
 * What `status` and `report` look at: the history, and the window and sources `--since` and
 * `--source` name (the ids the job's sources and the vzdump guests its history knows).
 */
async function readScope(job: Job, options: { since?: string; source?: string }) {
  const now = new Date();
  const since = parseSince(options.since, now);
  const history = await readHistory(job);
  const sources = parseSources(options.source, rowsOf(job, history.records).map((r) => r.id));
  return { now, since, history, sources };
}


/** Left-aligned columns separated by two spaces. */
function table(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

function when(iso: string | undefined): string {
  return iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '-';
}

/** With seconds: runs a minute apart (or less) stay apart in the history. */
function whenPrecise(iso: string | undefined): string {
  return iso ? `${iso.slice(0, 19).replace('T', ' ')}Z` : '-';
}

export function renderStatus(status: JobStatus): string {
  const lines = [
    `${status.job} (${status.job_file}) on ${status.hostname}: ${status.runs} run(s) recorded${status.since ? ` since ${when(status.since)}` : ''}; checked ${when(status.checked_at)}`,
  ];
  if (status.skipped_lines) lines.push(`(${status.skipped_lines} unreadable line(s) in ${status.history_file} skipped)`);
  const rows = [['SOURCE', 'STATE', 'LAST RUN', 'LAST SUCCESS', 'AGE', 'MAX AGE', 'SUCCESS', 'AVG TIME', 'SIZE', 'TREND']];
  for (const s of status.sources) {
    const trend = s.size_trend?.change_percent;
    rows.push([
      s.id,
      s.state,
      s.last_run ? `${when(s.last_run.started_at)} ${s.last_run.status}` : '-',
      when(s.last_success?.finished_at ?? s.last_success?.started_at),
      s.age_seconds === undefined ? '-' : formatAge(s.age_seconds),
      s.max_age_seconds === undefined ? '-' : formatAge(s.max_age_seconds),
      s.success_rate === undefined ? '-' : `${Math.round(s.success_rate * 100)}% (${s.successes}/${s.runs})`,
      s.average_duration_seconds === undefined ? '-' : formatDuration(s.average_duration_seconds),
      s.size_trend ? formatBytes(s.size_trend.last_bytes) : '-',
      trend === undefined ? '-' : `${trend >= 0 ? '+' : ''}${trend}%`,
    ]);
  }
  lines.push(table(rows));
  for (const s of status.sources) {
    if (s.state === 'OVERDUE' || s.state === 'FAILED') lines.push(`${s.state} ${s.id}: ${s.reason}`);
  }
  return redact(lines.join('\n'));
}

export async function commandStatus(path: string, options: StatusCommandOptions): Promise<number> {
  return withJob(path, options, async (job, logger) => {
    const { now, since, history, sources } = await readScope(job, options);
    const status = jobStatus(job, history, now, { since, sources });
    process.stdout.write(options.json ? `${redact(JSON.stringify(status, null, 2))}\n` : `${renderStatus(status)}\n`);
    if (status.overdue.length === 0) return ExitCode.ok;
    if (options.notify) await notifyOverdue(job, status, logger);
    return ExitCode.failed;
  });
}

async function notifyOverdue(job: Job, status: JobStatus, logger: Logger): Promise<void> {
  // A channel that records runs as data would store the overdue finding as a failed backup run
  // (see `records` in notifications/types.ts): the overdue event goes to the alerting channels.
  const channels = job.notifications.filter((n) => !n.plugin.records);
  if (channels.length === 0) {
    logger.warn('--notify: the job has no alerting notification channel (webhook, uptime-kuma, ntfy, mail, chat...)');
    return;
  }
  const report = overdueRunReport(status, TOOL_VERSION, randomUUID());
  const dispatcher = await NotificationDispatcher.create(channels, { job: job.info, logger });
  for (const source of report.sources) await dispatcher.emit({ kind: 'failure', source, run: report });
  await dispatcher.emit({ kind: 'run', run: report });
  const failed = dispatcher.outcomes.filter((o) => !o.ok);
  for (const f of failed) process.stderr.write(`backup: overdue notification ${f.id} failed: ${redact(f.error ?? 'unknown error')}\n`);
}

export async function commandHistory(path: string, options: HistoryCommandOptions): Promise<number> {
  return withJob(path, options, async (job) => {
    if (options.json && options.csv) {
      process.stderr.write('backup: give --json or --csv, not both\n');
      return ExitCode.usage;
    }
    const filter: HistoryFilter = { since: parseSince(options.since) };
    // A source the job no longer has still has its history: any id is taken here.
    if (options.source !== undefined) filter.sources = options.source.split(',').map((v) => v.trim()).filter(Boolean);
    const history = await readHistory(job);
    const rows = historyRows(history.records, filter);
    if (options.csv) process.stdout.write(redact(historyCsv(rows)));
    else if (options.json) process.stdout.write(`${redact(JSON.stringify(rows, null, 2))}\n`);
    else if (rows.length === 0) {
      const since = filter.since ? ` since ${whenPrecise(filter.since.toISOString())}` : '';
      process.stdout.write(`no runs recorded${options.source ? ` for source ${options.source}` : ''}${since} (${history.file})\n`);
    }
    else {
      const lines = [['STARTED', 'SOURCE', 'STATUS', 'DURATION', 'RAW', 'STORED', 'RATIO', 'DESTINATIONS', 'ERROR']];
      for (const r of rows) {
        lines.push([
          whenPrecise(r.started_at),
          r.source,
          r.status,
          formatDuration(r.duration_seconds),
          r.raw_bytes === undefined ? '-' : formatBytes(r.raw_bytes),
          formatBytes(r.stored_bytes),
          r.compression_ratio === undefined ? '-' : `${r.compression_ratio.toFixed(2)}x`,
          r.destinations.join(' '),
          r.error ?? '',
        ]);
      }
      process.stdout.write(`${redact(table(lines))}\n`);
    }
    return ExitCode.ok;
  });
}

export interface ReportCommandOptions extends GlobalOptions {
  html: string;
  since?: string;
  source?: string;
  /** commander's --no-destinations. */
  destinations?: boolean;
}

/**
 * `backup report JOB --html FILE`: the page is built in src/report from the history (as
 * `status --json` reads it) and `backup list`'s listing; written under a temporary name and
 * renamed, so a browser or web server never sees half a page. Exit 1 when a destination could
 * not be listed (the page is written and says so).
 */
export async function commandReport(path: string, options: ReportCommandOptions): Promise<number> {
  return withJob(path, options, async (job, logger) => {
    const { now, since, history, sources } = await readScope(job, options);
    const listing = options.destinations === false ? undefined : await listJob(job, {}, logger);
    const html = renderReportHtml(buildReport(job, history, { now, since, sources, listing }));
    if (options.html === '-') process.stdout.write(html);
    else {
      await writeFileAtomically(options.html, html);
      logger.info(`report written to ${options.html}`);
    }
    for (const p of listing?.problems ?? []) process.stderr.write(`backup: cannot list ${p.destination}: ${redact(p.error)}\n`);
    return listing?.problems.length ? ExitCode.failed : ExitCode.ok;
  });
}
