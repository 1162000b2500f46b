/**
 * `backup status JOB` (a Nagios/Icinga-style check: exit 1 when a source is OVERDUE) and
 * `backup history JOB` (the recorded runs as a table, JSON or CSV).
 */
import { randomUUID } from 'node:crypto';
import type { Job } from '../config/job.js';
import { ExitCode } from '../errors.js';
import type { Logger } from '../log.js';
import { formatBytes, formatDuration } from '../notifications/message.js';
import { NotificationDispatcher } from '../pipeline/notify.js';
import { redact } from '../secrets.js';
import { readHistory } from '../state/history.js';
import { historyCsv, historyRows } from '../state/export.js';
import { formatAge, jobStatus, overdueRunReport, type JobStatus } from '../state/status.js';
import { TOOL_VERSION } from '../version.js';
import { withJob, type GlobalOptions } from './context.js';

/**
 * Channels that record runs as data (metrics, dashboards, search indexes, flag files) would
 * store the overdue finding as a failed backup run; they have their own view of a missing
 * backup (an alert on the age of last_success, duplistatus' overdue monitor), so the
 * overdue event goes only to the alerting channels.
 */
const RECORDING_CHANNELS = new Set(['prometheus', 'duplistatus', 'elasticsearch', 'flagfile']);

export interface StatusCommandOptions extends GlobalOptions {
  json?: boolean;
  notify?: boolean;
}

export interface HistoryCommandOptions extends GlobalOptions {
  source?: string;
  json?: boolean;
  csv?: boolean;
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
    `${status.job} (${status.job_file}) on ${status.hostname}: ${status.runs} run(s) recorded; checked ${when(status.checked_at)}`,
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
    const status = jobStatus(job, await readHistory(job));
    process.stdout.write(options.json ? `${redact(JSON.stringify(status, null, 2))}\n` : `${renderStatus(status)}\n`);
    if (status.overdue.length === 0) return ExitCode.ok;
    if (options.notify) await notifyOverdue(job, status, logger);
    return ExitCode.failed;
  });
}

async function notifyOverdue(job: Job, status: JobStatus, logger: Logger): Promise<void> {
  const channels = job.notifications.filter((n) => !RECORDING_CHANNELS.has(n.plugin.type));
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
    const history = await readHistory(job);
    const rows = historyRows(history.records, options.source);
    if (options.csv) process.stdout.write(redact(historyCsv(rows)));
    else if (options.json) process.stdout.write(`${redact(JSON.stringify(rows, null, 2))}\n`);
    else if (rows.length === 0) process.stdout.write(`no runs recorded${options.source ? ` for source ${options.source}` : ''} (${history.file})\n`);
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
