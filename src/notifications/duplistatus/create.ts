/**
 * The `duplistatus` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { createHash } from 'node:crypto';
import { redactDeep } from '../../secrets.js';
import type { RunReport, SourceReport } from '../../report.js';
import { totalStoredBytes } from '../../report.js';
import { finishedSource, makeWants } from '../events.js';
import { sendHttp } from '../../lib/http.js';
import { sourceLine } from '../message.js';
import type { Notifier, NotificationOptions } from '../types.js';
import type { DuplistatusOptions } from './schema.js';

const DEFAULTS = { start: false, success: true, failure: true };
const DEFAULT_LOG_LINES = 20;
export const DEFAULT_BACKUP_NAME = '{job}/{source}';

/** Seconds as .NET's TimeSpan text `HH:MM:SS.fffffff`; hours keep counting past 24 (never `d.HH:...`). */
export function duplicatiDuration(seconds: number): string {
  const ticks = Math.max(0, Math.round(seconds * 1e7));
  const hours = Math.floor(ticks / 36_000_000_000);
  const minutes = Math.floor((ticks % 36_000_000_000) / 600_000_000);
  const secs = Math.floor((ticks % 600_000_000) / 10_000_000);
  const fraction = ticks % 10_000_000;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(hours)}:${two(minutes)}:${two(secs)}.${String(fraction).padStart(7, '0')}`;
}

/** Success, Warning, Error (something was stored, not everywhere) or Fatal (nothing stored). */
export function parsedResult(source: SourceReport): 'Success' | 'Warning' | 'Error' | 'Fatal' {
  if (source.status === 'failure') {
    const stored = source.destinations.some((d) => d.status === 'success' && d.keys.length > 0);
    return stored ? 'Error' : 'Fatal';
  }
  return source.status === 'warning' || source.warnings.length > 0 ? 'Warning' : 'Success';
}

export function machineIdOf(hostname: string): string {
  return createHash('sha256').update(`backup-runner:${hostname}`).digest('hex').slice(0, 32);
}

/** Stable per job file and source: the dashboard's backup identity. */
export function backupIdOf(run: Pick<RunReport, 'hostname' | 'jobPath'>, sourceId: string): string {
  return `br-${createHash('sha256').update(`${run.hostname}\0${run.jobPath}\0${sourceId}`).digest('hex').slice(0, 16)}`;
}

export interface DuplicatiReport {
  Data: Record<string, unknown> & { BackendStatistics: Record<string, unknown> };
  Extra: Record<string, string>;
  LogLines: string[];
}

/** The Duplicati-format report of one finished source. */
export function duplicatiReport(run: RunReport, source: SourceReport, options: DuplistatusOptions): DuplicatiReport {
  const begin = source.startedAt;
  const end = source.finishedAt ?? run.finishedAt ?? new Date().toISOString();
  const seconds = source.durationSeconds ?? (Date.parse(end) - Date.parse(begin)) / 1000;
  const result = parsedResult(source);
  const stored = totalStoredBytes(source);
  const raws = source.artifacts.map((a) => a.rawBytes);
  const examined = raws.length && raws.every((r) => r !== undefined) ? raws.reduce<number>((s, r) => s + r!, 0) : stored;
  const uploaded = source.destinations.reduce((sum, d) => sum + d.storedBytes, 0);
  const kept = Math.max(0, ...source.destinations.map((d) => d.retention?.kept.length ?? 0));
  const errors = source.error ? [source.error] : [];
  const logLines = [sourceLine(source), ...source.warnings.map((w) => `Warning: ${w}`), ...errors.map((e) => `Error: ${e}`)];
  if (source.status === 'failure') logLines.push(...run.logTail.slice(-(options.log_lines ?? DEFAULT_LOG_LINES)));
  const name = (options.backup_name ?? DEFAULT_BACKUP_NAME)
    .replaceAll('{job}', run.jobName)
    .replaceAll('{source}', source.id)
    .replaceAll('{hostname}', run.hostname);
  const version = `backup-runner ${run.toolVersion}`;
  const report: DuplicatiReport = {
    Data: {
      MainOperation: 'Backup',
      ParsedResult: result,
      Interrupted: false,
      PartialBackup: result === 'Error',
      Dryrun: run.dryRun,
      Version: version,
      BeginTime: begin,
      EndTime: end,
      Duration: duplicatiDuration(seconds),
      ExaminedFiles: source.artifacts.length,
      SizeOfExaminedFiles: examined,
      AddedFiles: source.artifacts.length,
      SizeOfAddedFiles: examined,
      WarningsActualLength: source.warnings.length,
      ErrorsActualLength: errors.length,
      MessagesActualLength: logLines.length,
      Warnings: source.warnings,
      Errors: errors,
      BackendStatistics: {
        MainOperation: 'Backup',
        ParsedResult: result,
        BeginTime: begin,
        Duration: duplicatiDuration(seconds),
        BytesUploaded: uploaded,
        KnownFileSize: stored,
        BackupListCount: kept,
        Version: version,
      },
    },
    Extra: {
      OperationName: 'Backup',
      'machine-id': options.machine_id ?? machineIdOf(run.hostname),
      'machine-name': options.machine_name ?? run.hostname,
      'backup-name': name,
      'backup-id': backupIdOf(run, source.id),
    },
    LogLines: logLines,
  };
  return redactDeep(report);
}

export function create(options: NotificationOptions<ReturnType<typeof DuplistatusOptions>>): Notifier {
  const plugin = options.id ?? 'duplistatus';
  const url = `${options.url.replace(/\/+$/, '')}/api/upload`;
  const flags = makeWants(options, DEFAULTS, { perSource: true, perRun: false });
  return {
    // Only finished sources are backups; a run that failed outside any source is not one.
    wants: (event) => finishedSource(event) !== undefined && flags(event),
    async notify(event, { signal }) {
      const body = JSON.stringify(duplicatiReport(event.run, finishedSource(event)!, options));
      await sendHttp({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', 'user-agent': `backup-runner/${event.run.toolVersion}` },
        body,
        signal,
        plugin,
        // 409 "ignored, duplicated data": the server has this report already (a retry after a timeout).
        acceptStatus: [409],
      });
    },
  };
}
