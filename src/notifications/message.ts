/**
 * The human text every chat/mail channel sends, written once: host, job file, source, status,
 * sizes, durations, the error, and for failures the last log lines. Every string leaving here
 * has passed through the redactor.
 */
import { redact, redactDeep } from '../secrets.js';
import type { RunReport, SourceReport } from '../report.js';
import { totalStoredBytes } from '../report.js';
import type { NotificationEvent } from './types.js';
import { formatBytes, formatDuration, statusWord } from '../lib/format.js';

/** One line per source: what, how it went, how big, how long, where. */
export function sourceLine(source: SourceReport): string {
  const parts = [`${source.id} (${source.type}): ${statusWord(source.status)}`];
  if (source.status !== 'running') {
    parts.push(`${formatBytes(totalStoredBytes(source))} stored in ${formatDuration(source.durationSeconds)}`);
  }
  const dests = source.destinations.map((d) => `${d.id} ${d.status === 'success' ? 'ok' : d.status}${d.error ? ` (${d.error})` : ''}`);
  if (dests.length) parts.push(`→ ${dests.join(', ')}`);
  if (source.error) parts.push(`error: ${source.error}`);
  if (source.warnings.length) parts.push(`warnings: ${source.warnings.join('; ')}`);
  return redact(parts.join(', '));
}

/** A short subject/title line for the event. */
export function eventTitle(event: NotificationEvent): string {
  const run = event.run;
  const where = `${run.hostname} ${run.jobName}`;
  switch (event.kind) {
    case 'start':
      return redact(`Backup started: ${where} / ${event.source.id}`);
    case 'success':
      return redact(`Backup ${statusWord(event.source.status)}: ${where} / ${event.source.id}`);
    case 'failure':
      return redact(`Backup FAILED: ${where}${event.source ? ` / ${event.source.id}` : ''}`);
    case 'run':
      return redact(`Backup ${statusWord(run.status)}: ${where} (${run.sources.length} source${run.sources.length === 1 ? '' : 's'})`);
  }
}

/** The message body: the title's facts spelled out, plus the log tail on failure. */
export function eventBody(event: NotificationEvent, options: { logLines?: number } = {}): string {
  const run = event.run;
  const lines: string[] = [`Host: ${run.hostname}`, `Job: ${run.jobPath}`];
  if (event.kind === 'run') {
    lines.push(`Status: ${statusWord(run.status)}`, `Duration: ${formatDuration(run.durationSeconds)}`);
    for (const source of run.sources) lines.push(`- ${sourceLine(source)}`);
  } else if (event.source) {
    lines.push(`- ${sourceLine(event.source)}`);
  }
  const error = event.kind === 'failure' ? (event.source?.error ?? run.error) : event.kind === 'run' ? run.error : undefined;
  if (error) lines.push(`Error: ${error}`);
  const failed = event.kind === 'failure' || (event.kind === 'run' && run.status === 'failure');
  const tail = run.logTail.slice(-(options.logLines ?? 10));
  if (failed && tail.length) lines.push('', 'Last log lines:', ...tail);
  return redact(lines.join('\n'));
}

export function isFailure(event: NotificationEvent): boolean {
  return event.kind === 'failure' || (event.kind === 'run' && event.run.status === 'failure');
}

/** The report with only what a machine-readable channel (webhook, Elasticsearch) should carry. */
export function reportForExport(run: RunReport): RunReport {
  return redactDeep(run);
}
