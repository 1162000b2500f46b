/**
 * The local run history: one JSON line per run in `{state_dir}/history/{job}-{hash}.jsonl`.
 *
 * Each record is appended with a single write() on a file opened O_APPEND, so runs of
 * different jobs (different files) and the rare overlap on one file never interleave, and a
 * crash loses at most the record being written. Readers skip a torn (unparseable) line; a
 * writer that finds the file not ending in a newline starts its record on a fresh line.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Job } from '../config/job.js';
import type { JobInfo } from '../plugin.js';
import type { RunReport, RunStatus, SourceReport } from '../report.js';
import { totalStoredBytes } from '../report.js';
import { redactDeep } from '../secrets.js';
import { withPath } from '../errors.js';

export const HISTORY_FORMAT = 1;

export interface HistoryDestination {
  id: string;
  type: string;
  status: 'success' | 'failure' | 'skipped';
  error?: string;
  stored_bytes: number;
  upload_seconds: number;
  /** Runs of the source kept on this destination after retention. */
  retained_runs?: string[];
  /** Runs retention removed in this run. */
  deleted_runs?: string[];
  retention_error?: string;
}

export interface HistorySource {
  id: string;
  name: string;
  type: string;
  status: RunStatus;
  error?: string;
  warnings: string[];
  /** The run's folder on the destinations (YYYYmmddHHMMSS). */
  run_key: string;
  started_at: string;
  finished_at?: string;
  /** Dump and upload together: they are streamed, so they overlap. */
  duration_seconds?: number;
  /** The slowest destination's upload time (destinations receive in parallel). */
  upload_seconds: number;
  artifacts: number;
  /** Bytes the source produced, when measured. */
  raw_bytes?: number;
  /** Bytes stored on each destination (compressed and encrypted). */
  stored_bytes: number;
  /** raw_bytes / stored_bytes, when raw_bytes is known. */
  compression_ratio?: number;
  /** Bytes per second of the source's data (raw when known, else stored) over duration_seconds. */
  throughput_bytes_per_second?: number;
  compression: string;
  encryption: string;
  destinations: HistoryDestination[];
}

export interface HistoryRecord {
  format: typeof HISTORY_FORMAT;
  run_id: string;
  job: string;
  job_path: string;
  hostname: string;
  tool_version: string;
  status: RunStatus;
  error?: string;
  started_at: string;
  finished_at?: string;
  duration_seconds?: number;
  sources: HistorySource[];
}

export function historyPath(stateDir: string, job: JobInfo): string {
  const digest = createHash('sha256').update(job.path).digest('hex').slice(0, 12);
  return join(stateDir, 'history', `${job.name}-${digest}.jsonl`);
}

function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function historySource(source: SourceReport): HistorySource {
  const stored = totalStoredBytes(source);
  const raws = source.artifacts.map((a) => a.rawBytes);
  const raw = raws.length > 0 && raws.every((r) => r !== undefined) ? raws.reduce<number>((s, r) => s + r!, 0) : undefined;
  const seconds = source.durationSeconds;
  const moved = raw ?? stored;
  return {
    id: source.id,
    name: source.name,
    type: source.type,
    status: source.status,
    error: source.error,
    warnings: source.warnings,
    run_key: source.runKey,
    started_at: source.startedAt,
    finished_at: source.finishedAt,
    duration_seconds: seconds === undefined ? undefined : round(seconds),
    upload_seconds: round(Math.max(0, ...source.destinations.map((d) => d.uploadSeconds))),
    artifacts: source.artifacts.length,
    raw_bytes: raw,
    stored_bytes: stored,
    compression_ratio: raw !== undefined && stored > 0 ? round(raw / stored) : undefined,
    throughput_bytes_per_second: seconds && seconds > 0 && moved > 0 ? Math.round(moved / seconds) : undefined,
    compression: source.compression,
    encryption: source.encryption,
    destinations: source.destinations.map((d) => ({
      id: d.id,
      type: d.type,
      status: d.status,
      error: d.error,
      stored_bytes: d.storedBytes,
      upload_seconds: round(d.uploadSeconds),
      retained_runs: d.retention?.kept,
      deleted_runs: d.retention?.deleted,
      retention_error: d.retention?.error,
    })),
  };
}

export function historyRecord(report: RunReport): HistoryRecord {
  return {
    format: HISTORY_FORMAT,
    run_id: report.runId,
    job: report.jobName,
    job_path: report.jobPath,
    hostname: report.hostname,
    tool_version: report.toolVersion,
    status: report.status,
    error: report.error,
    started_at: report.startedAt,
    finished_at: report.finishedAt,
    duration_seconds: report.durationSeconds === undefined ? undefined : round(report.durationSeconds),
    sources: report.sources.map(historySource),
  };
}

/** Appends one record; one write() of the whole line on an O_APPEND descriptor. */
export async function appendHistoryRecord(file: string, record: HistoryRecord): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  // Reports are redacted when built; once more, since this file outlives the run. Each string
  // on its own: a password such as `1` must not be masked inside the JSON's numbers.
  const line = JSON.stringify(redactDeep(record));
  const handle = await open(file, 'a+', 0o600);
  try {
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      // A crash mid-write left a torn line: start ours on a line of its own.
      if (last[0] !== 0x0a) prefix = '\n';
    }
    const bytes = Buffer.from(`${prefix}${line}\n`);
    const { bytesWritten } = await handle.write(bytes, 0, bytes.length).catch((error: unknown) => {
      throw withPath(error, file);
    });
    if (bytesWritten !== bytes.length) throw new Error(`short write to ${file} (${bytesWritten} of ${bytes.length} bytes)`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Records a finished run of `job` in its history (the CLI calls this after every real run). */
export async function appendHistory(job: Pick<Job, 'stateDir' | 'info'>, report: RunReport): Promise<string> {
  const file = historyPath(job.stateDir, job.info);
  await appendHistoryRecord(file, historyRecord(report));
  return file;
}

export interface HistoryRead {
  records: HistoryRecord[];
  /** Lines that did not parse (a torn last line after a crash). */
  skipped: number;
}

export function parseHistory(text: string): HistoryRead {
  const records: HistoryRecord[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const record = JSON.parse(line) as HistoryRecord;
      if (record && record.format === HISTORY_FORMAT && Array.isArray(record.sources)) records.push(record);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { records, skipped };
}

/** The job's history, oldest first; an absent file is an empty history. */
export async function readHistory(job: Pick<Job, 'stateDir' | 'info'>): Promise<HistoryRead & { file: string }> {
  const file = historyPath(job.stateDir, job.info);
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const read = parseHistory(text);
  read.records.sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
  return { ...read, file };
}
