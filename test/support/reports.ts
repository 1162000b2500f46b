/**
 * RunReport fixtures for notification tests: complete, realistic reports with a few overrides.
 *
 *   const run = makeRunReport({ status: 'failure', sources: [makeSourceReport({ id: 'db', status: 'failure', error: 'mysqldump exited 2' })] });
 *   const events = eventsOf(run);   // start/success/failure per source + the run summary
 */
import type { ArtifactReport, DestinationReport, RunReport, SourceReport } from '../../src/report.js';
import type { NotificationEvent } from '../../src/notifications/types.js';

export const FIXTURE_START = '2026-03-14T02:00:00.000Z';

function runKeyOf(iso: string): string {
  return iso.replace(/[-:T]/g, '').slice(0, 14);
}

function addSeconds(iso: string, seconds: number): string {
  return new Date(new Date(iso).getTime() + seconds * 1000).toISOString();
}

export function makeArtifact(overrides: Partial<ArtifactReport> = {}): ArtifactReport {
  return {
    name: 'db.sql',
    file: 'db.sql.zst.gpg',
    rawBytes: 10 * 1024 * 1024,
    storedBytes: 2 * 1024 * 1024,
    sha256: 'a'.repeat(64),
    ...overrides,
  };
}

export function makeDestinationReport(overrides: Partial<DestinationReport> = {}): DestinationReport {
  return {
    id: 'disk',
    type: 'local',
    status: 'success',
    keys: ['db/20260314020000/db.sql.zst.gpg', 'db/20260314020000/db.manifest.json'],
    storedBytes: 2 * 1024 * 1024,
    uploadSeconds: 3,
    retention: { kept: ['20260314020000', '20260313020000', '20260312020000'], deleted: ['20260301020000'], dryRun: false },
    ...overrides,
  };
}

/**
 * A source report. `status: 'failure'` gets an error and a failed destination unless given;
 * `status: 'running'` gets no artifacts and no finish time.
 */
export function makeSourceReport(overrides: Partial<SourceReport> = {}): SourceReport {
  const id = overrides.id ?? 'db';
  const status = overrides.status ?? 'success';
  const startedAt = overrides.startedAt ?? FIXTURE_START;
  const failed = status === 'failure';
  const running = status === 'running';
  const base: SourceReport = {
    id,
    name: `${id} database`,
    type: 'mysql',
    status,
    runKey: runKeyOf(startedAt),
    startedAt,
    finishedAt: running ? undefined : addSeconds(startedAt, 42),
    durationSeconds: running ? undefined : 42,
    error: failed ? 'mysqldump exited 2: Lost connection to MySQL server during query' : undefined,
    warnings: [],
    artifacts: running || failed ? [] : [makeArtifact({ name: `${id}.sql`, file: `${id}.sql.zst.gpg` })],
    destinations: running
      ? []
      : failed
        ? [makeDestinationReport({ status: 'failure', error: 'upload aborted', keys: [], storedBytes: 0, retention: undefined })]
        : [
            makeDestinationReport({
              keys: [`${id}/${runKeyOf(startedAt)}/${id}.sql.zst.gpg`, `${id}/${runKeyOf(startedAt)}/${id}.manifest.json`],
            }),
          ],
    compression: 'zstd',
    encryption: 'openpgp-passphrase',
  };
  return { ...base, ...overrides };
}

/**
 * A run report. Without `sources`, one source whose status follows the run's (`warning` → a
 * successful source with a warning). Without `status`, derived from the sources.
 */
export function makeRunReport(overrides: Partial<RunReport> = {}): RunReport {
  const startedAt = overrides.startedAt ?? FIXTURE_START;
  const wanted = overrides.status;
  const sources =
    overrides.sources ??
    [
      makeSourceReport({
        status: wanted === 'warning' ? 'success' : (wanted ?? 'success'),
        warnings: wanted === 'warning' ? ['table shop.cache skipped'] : [],
        startedAt,
      }),
    ];
  const derived = sources.some((s) => s.status === 'failure')
    ? 'failure'
    : sources.some((s) => s.status === 'running')
      ? 'running'
      : sources.some((s) => s.warnings.length > 0)
        ? 'warning'
        : 'success';
  const status = wanted ?? derived;
  const running = status === 'running';
  const base: RunReport = {
    runId: '01HZXK3T5Q8C7W9N2M4B6V8D0F',
    jobName: 'nightly',
    jobPath: '/etc/backup/nightly.json',
    hostname: 'db1.example.org',
    toolVersion: '0.1.0',
    status,
    startedAt,
    finishedAt: running ? undefined : addSeconds(startedAt, 60),
    durationSeconds: running ? undefined : 60,
    dryRun: false,
    sources,
    logTail: status === 'failure' ? ['INFO dumping db', 'ERROR mysqldump exited 2: Lost connection to MySQL server during query'] : [],
  };
  return { ...base, ...overrides, status, sources };
}

/** The events the pipeline sends for a finished run: per source start + success/failure, then `run`. */
export function eventsOf(run: RunReport): NotificationEvent[] {
  const events: NotificationEvent[] = [];
  for (const source of run.sources) {
    events.push({ kind: 'start', source: { ...source, status: 'running' }, run });
    if (source.status === 'failure') events.push({ kind: 'failure', source, run });
    else if (source.status !== 'running') events.push({ kind: 'success', source, run });
  }
  events.push({ kind: 'run', run });
  return events;
}

/** Options for `notify()` in tests. */
export function notifyOptions(timeoutMs = 10_000): { signal: AbortSignal } {
  return { signal: AbortSignal.timeout(timeoutMs) };
}
