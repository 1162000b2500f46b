/**
 * The metrics a run publishes, in Prometheus' text exposition format (version 0.0.4), for
 * the pushgateway and for node_exporter's textfile collector alike.
 *
 * A failed run publishes only "when" and "how": last_run timestamp, last_run_status 0 and
 * last_failure timestamp. Everything describing a good backup (last_success timestamp, size,
 * duration, retained copies) is left as the last success published it, so the alert
 * `time() - backup_runner_last_success_timestamp_seconds > window` keeps measuring the age of
 * the newest good backup through any number of failures.
 */
import type { RunReport, SourceReport } from '../../report.js';
import { succeeded, totalStoredBytes } from '../../report.js';

export const METRIC_HELP = {
  backup_runner_last_success_timestamp_seconds: 'Unix time the last successful backup of this source finished.',
  backup_runner_last_failure_timestamp_seconds: 'Unix time the last failed backup of this source finished.',
  backup_runner_last_run_timestamp_seconds: 'Unix time the last backup of this source finished, successful or not.',
  backup_runner_last_run_status: '1 if the last backup of this source succeeded, 0 if it failed.',
  backup_runner_stored_bytes: 'Bytes stored on each destination by the last successful backup (compressed and encrypted).',
  backup_runner_duration_seconds: 'Seconds the last successful backup took: dump and upload, which overlap (streamed).',
  backup_runner_retained_copies: 'Runs of this source kept on the destination after retention, at the last successful backup.',
  backup_runner_job_last_run_timestamp_seconds: 'Unix time the last run of this job finished.',
  backup_runner_job_last_run_status: '1 if the last run of this job succeeded (every source), 0 if anything failed.',
  backup_runner_job_last_success_timestamp_seconds: 'Unix time the last fully successful run of this job finished.',
  backup_runner_job_duration_seconds: 'Seconds the last run of this job took.',
} as const;

export type MetricName = keyof typeof METRIC_HELP;

export interface Sample {
  name: MetricName;
  /** Labels besides the group's (job/instance/source). */
  labels: Record<string, string>;
  value: number;
}

const seconds = (iso: string | undefined, fallback: number) => (iso ? Date.parse(iso) / 1000 : fallback);

export function sourceSucceeded(source: Pick<SourceReport, 'status'>): boolean {
  return succeeded(source.status);
}

/** The samples one source's outcome publishes (see the file comment for what a failure leaves out). */
export function sourceSamples(run: RunReport, source: SourceReport, now = Date.now() / 1000): Sample[] {
  const finished = seconds(source.finishedAt ?? run.finishedAt, now);
  const ok = sourceSucceeded(source);
  const samples: Sample[] = [
    { name: 'backup_runner_last_run_timestamp_seconds', labels: {}, value: finished },
    { name: 'backup_runner_last_run_status', labels: {}, value: ok ? 1 : 0 },
  ];
  if (!ok) {
    samples.push({ name: 'backup_runner_last_failure_timestamp_seconds', labels: {}, value: finished });
    return samples;
  }
  samples.push({ name: 'backup_runner_last_success_timestamp_seconds', labels: {}, value: finished });
  if (source.durationSeconds !== undefined) samples.push({ name: 'backup_runner_duration_seconds', labels: {}, value: source.durationSeconds });
  const stored = source.destinations.filter((d) => d.status === 'success');
  if (stored.length === 0) samples.push({ name: 'backup_runner_stored_bytes', labels: {}, value: totalStoredBytes(source) });
  for (const d of stored) samples.push({ name: 'backup_runner_stored_bytes', labels: { destination: d.id }, value: d.storedBytes });
  for (const d of stored) {
    if (d.retention && !d.retention.error) samples.push({ name: 'backup_runner_retained_copies', labels: { destination: d.id }, value: d.retention.kept.length });
  }
  return samples;
}

/** The job-level samples: the only sign of a run that failed before any source (job file, lock). */
export function runSamples(run: RunReport, now = Date.now() / 1000): Sample[] {
  const finished = seconds(run.finishedAt, now);
  const ok = succeeded(run.status);
  const samples: Sample[] = [
    { name: 'backup_runner_job_last_run_timestamp_seconds', labels: {}, value: finished },
    { name: 'backup_runner_job_last_run_status', labels: {}, value: ok ? 1 : 0 },
  ];
  if (ok) samples.push({ name: 'backup_runner_job_last_success_timestamp_seconds', labels: {}, value: finished });
  if (run.durationSeconds !== undefined) samples.push({ name: 'backup_runner_job_duration_seconds', labels: {}, value: run.durationSeconds });
  return samples;
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function unescapeLabelValue(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function labelText(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  return keys.length ? `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`).join(',')}}` : '';
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(value);
}

/** Text exposition: each metric once with HELP and TYPE, then its samples. */
export function renderExposition(samples: readonly Sample[]): string {
  const byName = new Map<MetricName, Sample[]>();
  for (const sample of samples) byName.set(sample.name, [...(byName.get(sample.name) ?? []), sample]);
  let out = '';
  for (const name of [...byName.keys()].sort()) {
    out += `# HELP ${name} ${METRIC_HELP[name]}\n# TYPE ${name} gauge\n`;
    for (const s of byName.get(name)!) out += `${name}${labelText(s.labels)} ${formatValue(s.value)}\n`;
  }
  return out;
}

/** Reads back samples of our own metrics from a text exposition (a previous textfile); other lines are ignored. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)\s*$/.exec(line);
    if (!m || !(m[1]! in METRIC_HELP)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = unescapeLabelValue(l[2]!);
    const value = Number(m[3]);
    if (!Number.isNaN(value) || m[3] === 'NaN') samples.push({ name: m[1] as MetricName, labels, value });
  }
  return samples;
}

/**
 * Pushgateway POST semantics on a list of samples: within the group (the samples whose labels
 * include `group`), every metric name present in `update` is replaced; the rest is kept.
 */
export function mergeGroup(existing: readonly Sample[], group: Record<string, string>, update: readonly Sample[]): Sample[] {
  const inGroup = (s: Sample) =>
    Object.entries(group).every(([k, v]) => s.labels[k] === v) &&
    // The job-level group has no source label; a source's samples are not part of it.
    (group.source !== undefined || s.labels.source === undefined);
  const replaced = new Set(update.map((s) => s.name));
  const kept = existing.filter((s) => !(inGroup(s) && replaced.has(s.name)));
  return [...kept, ...update.map((s) => ({ ...s, labels: { ...s.labels, ...group } }))];
}

/**
 * One path segment pair of a pushgateway grouping key. Values with `/` (and the empty value)
 * must be base64url-encoded with the `@base64` suffix on the label name: the pushgateway's
 * documented escape; anything else is URI-encoded.
 */
export function groupingSegment(label: string, value: string): string {
  if (value === '') return `${label}@base64/=`;
  if (value.includes('/')) return `${label}@base64/${Buffer.from(value, 'utf8').toString('base64url')}`;
  return `${label}/${encodeURIComponent(value)}`;
}
