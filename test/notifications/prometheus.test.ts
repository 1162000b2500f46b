import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPermanentHttpError } from '../../src/lib/http.js';
import { groupingSegment } from '../../src/notifications/prometheus/metrics.js';
import { prometheusNotification } from '../../src/notifications/prometheus/index.js';
import type { RunReport } from '../../src/report.js';
import { redactor } from '../../src/secrets.js';
import { describeWith } from '../support/binaries.js';
import { startReceiver, type Receiver } from '../support/http-receiver.js';
import { buildNotifier, deliver, rejectionOf } from '../support/notifier-harness.js';
import { PUSHGATEWAY_BINARY, PUSHGATEWAY_TEST_LOGIN, parsePromText, startPushgateway, type PromSample, type Pushgateway } from '../support/pushgateway.js';
import { eventsOf, makeDestinationReport, makeRunReport, makeSourceReport } from '../support/reports.js';
import { makeTempDir } from '../support/tmp.js';

const PASSPHRASE = 'prom-test-passphrase-1618';
const MiB = 1024 * 1024;

/** A run of `sources` at `start` (each source finishes 42 s later). */
function runAt(start: string, sources: { id: string; ok: boolean }[], overrides: Partial<RunReport> = {}): RunReport {
  return makeRunReport({
    startedAt: start,
    sources: sources.map(({ id, ok }) =>
      makeSourceReport({
        id,
        startedAt: start,
        status: ok ? 'success' : 'failure',
        error: ok ? undefined : `dump failed (${PASSPHRASE})`,
        destinations: ok
          ? [
              makeDestinationReport({ id: 'disk', storedBytes: 2 * MiB, retention: { kept: ['a', 'b', 'c'], deleted: [], dryRun: false } }),
              makeDestinationReport({ id: 'offsite', type: 's3', storedBytes: 2 * MiB, retention: { kept: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], deleted: ['x'], dryRun: false } }),
            ]
          : undefined,
      }),
    ),
    ...overrides,
  });
}

const seconds = (iso: string) => Date.parse(iso) / 1000;
const plus42 = (iso: string) => seconds(iso) + 42;

/** The value of one series, matched on name and (a subset of) labels. */
function valueOf(samples: PromSample[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value;
}

const DAY1 = '2026-03-14T02:00:00.000Z';
const DAY2 = '2026-03-15T02:00:00.000Z';
const DAY3 = '2026-03-16T02:00:00.000Z';

describeWith([PUSHGATEWAY_BINARY], 'prometheus notification (pushgateway)', () => {
  let pgw: Pushgateway;

  beforeAll(async () => {
    redactor.add(PASSPHRASE);
    pgw = await startPushgateway();
  }, 30_000);
  afterAll(async () => {
    await pgw?.stop();
  });

  it('pushes per-source metrics grouped by job, instance and source', async () => {
    const notifier = await buildNotifier(prometheusNotification, { id: 'prom', url: `${pgw.url}/`, job: 'pg-success' });
    await deliver(notifier, eventsOf(runAt(DAY1, [{ id: 'db', ok: true }, { id: 'etc', ok: true }])));
    const samples = await pgw.samples();
    const group = { job: 'pg-success', instance: 'db1.example.org', source: 'db' };
    expect(valueOf(samples, 'backup_runner_last_success_timestamp_seconds', group)).toBe(plus42(DAY1));
    expect(valueOf(samples, 'backup_runner_last_run_timestamp_seconds', group)).toBe(plus42(DAY1));
    expect(valueOf(samples, 'backup_runner_last_run_status', group)).toBe(1);
    expect(valueOf(samples, 'backup_runner_duration_seconds', group)).toBe(42);
    expect(valueOf(samples, 'backup_runner_stored_bytes', { ...group, destination: 'disk' })).toBe(2 * MiB);
    expect(valueOf(samples, 'backup_runner_retained_copies', { ...group, destination: 'disk' })).toBe(3);
    expect(valueOf(samples, 'backup_runner_retained_copies', { ...group, destination: 'offsite' })).toBe(7);
    expect(valueOf(samples, 'backup_runner_last_run_status', { ...group, source: 'etc' })).toBe(1);
    expect(valueOf(samples, 'backup_runner_last_failure_timestamp_seconds', group)).toBeUndefined();
    // The job-level group (no source label).
    const job = samples.filter((s) => s.name === 'backup_runner_job_last_run_status' && s.labels.job === 'pg-success');
    expect(job).toEqual([{ name: 'backup_runner_job_last_run_status', labels: { job: 'pg-success', instance: 'db1.example.org' }, value: 1 }]);
    // The pushgateway's own record of the push, one per group.
    expect(samples.filter((s) => s.name === 'push_time_seconds' && s.labels.job === 'pg-success')).toHaveLength(3);
  });

  it('after a success then a failure, last_success keeps the success time and status is 0', async () => {
    const notifier = await buildNotifier(prometheusNotification, { id: 'prom', url: pgw.url, job: 'pg-fail' });
    await deliver(notifier, eventsOf(runAt(DAY1, [{ id: 'db', ok: true }])));
    await deliver(notifier, eventsOf(runAt(DAY2, [{ id: 'db', ok: false }])));
    let samples = await pgw.samples();
    const group = { job: 'pg-fail', instance: 'db1.example.org', source: 'db' };
    expect(valueOf(samples, 'backup_runner_last_success_timestamp_seconds', group)).toBe(plus42(DAY1));
    expect(valueOf(samples, 'backup_runner_last_run_timestamp_seconds', group)).toBe(plus42(DAY2));
    expect(valueOf(samples, 'backup_runner_last_failure_timestamp_seconds', group)).toBe(plus42(DAY2));
    expect(valueOf(samples, 'backup_runner_last_run_status', group)).toBe(0);
    // What describes the last good backup stays as it was.
    expect(valueOf(samples, 'backup_runner_stored_bytes', { ...group, destination: 'disk' })).toBe(2 * MiB);
    expect(valueOf(samples, 'backup_runner_job_last_run_status', { job: 'pg-fail' })).toBe(0);
    expect(valueOf(samples, 'backup_runner_job_last_success_timestamp_seconds', { job: 'pg-fail' })).toBe(seconds(DAY1) + 60);

    // And the next success moves last_success on, keeping the failure's time.
    await deliver(notifier, eventsOf(runAt(DAY3, [{ id: 'db', ok: true }])));
    samples = await pgw.samples();
    expect(valueOf(samples, 'backup_runner_last_success_timestamp_seconds', group)).toBe(plus42(DAY3));
    expect(valueOf(samples, 'backup_runner_last_run_status', group)).toBe(1);
    expect(valueOf(samples, 'backup_runner_last_failure_timestamp_seconds', group)).toBe(plus42(DAY2));
  });

  it('hosts and sources of a fleet do not overwrite each other; a job name with "/" is base64-encoded', async () => {
    const a = await buildNotifier(prometheusNotification, { id: 'prom', url: pgw.url, job: 'team/nightly', instance: 'host-a' });
    const b = await buildNotifier(prometheusNotification, { id: 'prom', url: pgw.url, job: 'team/nightly', instance: 'host-b' });
    await deliver(a, eventsOf(runAt(DAY1, [{ id: 'db', ok: true }])));
    await deliver(b, eventsOf(runAt(DAY2, [{ id: 'db', ok: false }])));
    const samples = await pgw.samples();
    expect(valueOf(samples, 'backup_runner_last_run_status', { job: 'team/nightly', instance: 'host-a', source: 'db' })).toBe(1);
    expect(valueOf(samples, 'backup_runner_last_run_status', { job: 'team/nightly', instance: 'host-b', source: 'db' })).toBe(0);
    expect(valueOf(samples, 'backup_runner_last_success_timestamp_seconds', { job: 'team/nightly', instance: 'host-b' })).toBeUndefined();
  });

  it('notify_on_failure: 0 leaves failures out', async () => {
    const notifier = await buildNotifier(prometheusNotification, { id: 'prom', url: pgw.url, job: 'pg-quiet', notify_on_failure: 0 });
    await deliver(notifier, eventsOf(runAt(DAY1, [{ id: 'ok', ok: true }, { id: 'bad', ok: false }])));
    const samples = (await pgw.samples()).filter((s) => s.labels.job === 'pg-quiet' && s.name === 'backup_runner_last_run_status');
    expect(samples.map((s) => s.labels.source)).toEqual(['ok']);
  });

  it('uses the job file name and hostname by default', async () => {
    const notifier = await buildNotifier(prometheusNotification, { id: 'prom', url: pgw.url });
    await deliver(notifier, eventsOf(runAt(DAY1, [{ id: 'defaults', ok: true }])));
    expect(valueOf(await pgw.samples(), 'backup_runner_last_run_status', { job: 'nightly', instance: 'db1.example.org', source: 'defaults' })).toBe(1);
  });
});

describeWith([PUSHGATEWAY_BINARY], 'prometheus notification (pushgateway with basic auth)', () => {
  let pgw: Pushgateway;

  beforeAll(async () => {
    redactor.add(PUSHGATEWAY_TEST_LOGIN.password);
    pgw = await startPushgateway({ auth: PUSHGATEWAY_TEST_LOGIN });
  }, 30_000);
  afterAll(async () => {
    await pgw?.stop();
  });

  it('pushes with credentials { username, password }', async () => {
    const { username, password } = PUSHGATEWAY_TEST_LOGIN;
    const notifier = await buildNotifier(prometheusNotification, { id: 'prom', url: pgw.url, credentials: { username, password } });
    await deliver(notifier, eventsOf(runAt(DAY1, [{ id: 'db', ok: true }])));
    expect(valueOf(await pgw.samples(), 'backup_runner_last_run_status', { job: 'nightly', source: 'db' })).toBe(1);
  });

  it('a wrong password is a clear, permanent error without the password', async () => {
    const wrong = 'pgw-wrong-Pw-99';
    redactor.add(wrong);
    const notifier = await buildNotifier(prometheusNotification, { id: 'prom', url: pgw.url, username: PUSHGATEWAY_TEST_LOGIN.username, password: wrong });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: runAt(DAY2, [{ id: 'db', ok: true }]) }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toMatch(/pushgateway http:\/\/127\.0\.0\.1:\d+ refused the push \(HTTP 401\): check username and password/);
    expect(error.message).not.toContain(wrong);
    expect(isPermanentHttpError(error)).toBe(true);

    const anonymous = await buildNotifier(prometheusNotification, { id: 'prom', url: pgw.url });
    const error2 = await rejectionOf(anonymous.notify({ kind: 'run', run: runAt(DAY2, [{ id: 'db', ok: true }]) }, { signal: AbortSignal.timeout(5000) }));
    expect(error2.message).toContain('it needs a username and password');
    // Nothing changed on the gateway.
    expect(valueOf(await pgw.samples(), 'backup_runner_last_run_timestamp_seconds', { job: 'nightly', source: 'db' })).toBe(plus42(DAY1));
  });
});

describe('prometheus notification (the request itself)', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });

  it('POSTs the text format to the grouping-key URL with basic auth, and no secret in it', async () => {
    redactor.add(PASSPHRASE);
    const password = 'pgw-capture-Pw-31';
    const notifier = await buildNotifier(prometheusNotification, { id: 'prom', url: `${receiver.url}/gw/`, credentials: { username: 'prom', password } });
    await deliver(notifier, eventsOf(runAt(DAY1, [{ id: 'db', ok: false }])));
    expect(receiver.requests.map((r) => [r.method, r.path])).toEqual([
      ['POST', '/gw/metrics/job/nightly/instance/db1.example.org/source/db'],
      ['POST', '/gw/metrics/job/nightly/instance/db1.example.org'],
    ]);
    const req = receiver.requests[0]!;
    expect(req.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from(`prom:${password}`).toString('base64')}`);
    expect(req.text).toContain('# TYPE backup_runner_last_run_status gauge\nbackup_runner_last_run_status 0\n');
    expect(req.text).not.toContain('last_success');
    for (const r of receiver.requests) {
      expect(`${r.path}${r.text}`).not.toContain(password);
      expect(`${r.path}${JSON.stringify(r.headers)}${r.text}`).not.toContain(PASSPHRASE);
    }
  });

  it('encodes grouping label values as the pushgateway documents', () => {
    expect(groupingSegment('job', 'nightly')).toBe('job/nightly');
    expect(groupingSegment('job', 'a/b')).toBe('job@base64/YS9i');
    expect(groupingSegment('source', '')).toBe('source@base64/=');
    expect(groupingSegment('instance', 'db 1')).toBe('instance/db%201');
  });
});

describe('prometheus notification (node_exporter textfile)', () => {
  it('writes the metrics atomically, keeping last_success through a failure and other sources untouched', async () => {
    const dir = await makeTempDir();
    try {
      const file = join(dir.path, 'backup.prom');
      await writeFile(file, '# a line node_exporter would ignore\n');
      const notifier = await buildNotifier(prometheusNotification, { id: 'prom', textfile: file });
      await deliver(notifier, eventsOf(runAt(DAY1, [{ id: 'db', ok: true }, { id: 'etc', ok: true }])));
      await deliver(notifier, eventsOf(runAt(DAY2, [{ id: 'db', ok: false }])));

      const text = await readFile(file, 'utf8');
      const samples = parsePromText(text);
      expect(valueOf(samples, 'backup_runner_last_success_timestamp_seconds', { job: 'nightly', source: 'db' })).toBe(plus42(DAY1));
      expect(valueOf(samples, 'backup_runner_last_run_timestamp_seconds', { job: 'nightly', source: 'db' })).toBe(plus42(DAY2));
      expect(valueOf(samples, 'backup_runner_last_run_status', { job: 'nightly', source: 'db' })).toBe(0);
      expect(valueOf(samples, 'backup_runner_retained_copies', { job: 'nightly', source: 'db', destination: 'offsite' })).toBe(7);
      expect(valueOf(samples, 'backup_runner_last_run_status', { job: 'nightly', source: 'etc' })).toBe(1);
      expect(valueOf(samples, 'backup_runner_job_last_run_status', { job: 'nightly' })).toBe(0);
      expect(samples.every((s) => s.labels.instance === undefined)).toBe(true);
      // Each metric has one HELP and one TYPE line, and no temp file is left behind.
      expect(text.match(/^# TYPE backup_runner_last_run_status gauge$/gm)).toHaveLength(1);
      expect(await readdir(dir.path)).toEqual(['backup.prom']);
    } finally {
      await dir.remove();
    }
  });

  it('the textfile is readable by node_exporter (mode 0644) under the umask 077 the runner works with', async () => {
    const dir = await makeTempDir();
    const umask = process.umask(0o077);
    try {
      const file = join(dir.path, 'backup.prom');
      const notifier = await buildNotifier(prometheusNotification, { id: 'prom', textfile: file });
      await deliver(notifier, eventsOf(runAt(DAY1, [{ id: 'db', ok: true }])));
      expect((await stat(file)).mode & 0o777).toBe(0o644);
    } finally {
      process.umask(umask);
      await dir.remove();
    }
  });

  it('fails clearly when the textfile folder does not exist', async () => {
    const notifier = await buildNotifier(prometheusNotification, { id: 'prom', textfile: '/nonexistent-dir-br/backup.prom' });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: runAt(DAY1, [{ id: 'db', ok: true }]) }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toContain('textfile /nonexistent-dir-br/backup.prom');
    expect(error.message).toContain('ENOENT');
  });

  it('needs url or textfile', async () => {
    await expect(buildNotifier(prometheusNotification, { id: 'prom' })).rejects.toThrow(/url: required \(or textfile\)/);
    await expect(buildNotifier(prometheusNotification, { id: 'prom', textfile: '/tmp/backup.txt' })).rejects.toThrow(/\.prom/);
  });
});
