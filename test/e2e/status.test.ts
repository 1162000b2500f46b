/**
 * `backup status` and `backup history` through the built CLI, on back-dated history records
 * and on a real run: OVERDUE past max_age (exit 1), the overdue notification reaching a local
 * receiver, success rate, size trend, exports.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunReport, SourceReport } from '../../src/report.js';
import { appendHistory } from '../../src/state/history.js';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { startReceiver, type Receiver } from '../support/http-receiver.js';
import { writeJob } from '../support/jobs.js';
import { makeRunReport, makeSourceReport } from '../support/reports.js';
import { makeTempDir } from '../support/tmp.js';
import { makeTree } from '../support/tree.js';

const HOUR = 3600_000;
const PASSPHRASE = 'status e2e passphrase';

function hoursAgo(h: number): string {
  return new Date(Date.now() - h * HOUR).toISOString();
}

/** A finished source run `h` hours ago. */
function sourceRun(id: string, h: number, status: SourceReport['status'], storedBytes = 1000): SourceReport {
  const base = makeSourceReport({ id, type: 'folder', status, startedAt: hoursAgo(h), finishedAt: hoursAgo(h - 0.01), durationSeconds: 36 });
  if (status !== 'failure') base.artifacts = [{ name: `${id}.tar`, file: `${id}.tar.zst.gpg`, rawBytes: storedBytes * 4, storedBytes, sha256: 'b'.repeat(64) }];
  return base;
}

function runOf(sources: SourceReport[], job: { info: { path: string; name: string } }): RunReport {
  return makeRunReport({ sources, startedAt: sources[0]!.startedAt, jobName: job.info.name, jobPath: job.info.path, hostname: 'testhost' });
}

describe('backup status and history', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let receiver: Receiver;
  let jobFile: string;
  let job: { stateDir: string; info: { path: string; name: string; hostname: string } };

  beforeAll(async () => {
    tmp = await makeTempDir();
    receiver = await startReceiver();
    await mkdir(join(tmp.path, 'data'));
    jobFile = await writeJob(tmp.path, {
      max_age: '26h',
      sources: [
        { id: 'db', type: 'folder', path: join(tmp.path, 'data'), passphrase: PASSPHRASE },
        { id: 'etc', type: 'folder', path: join(tmp.path, 'data'), passphrase: PASSPHRASE, max_age: '3d' },
        { id: 'new', type: 'folder', path: join(tmp.path, 'data'), passphrase: PASSPHRASE, max_age: '1d' },
      ],
      destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store'), create: 1 }],
      notifications: [
        { id: 'hook', type: 'webhook', url: `${receiver.url}/hook` },
        { id: 'phone', type: 'ntfy', url: `${receiver.url}/backup-alerts` },
        { id: 'metrics', type: 'prometheus', url: `${receiver.url}/pushgateway` },
      ],
    });
    job = { stateDir: join(tmp.path, 'state'), info: { path: jobFile, name: 'job', hostname: 'testhost' } };
    // db: three good nights, then a failure 5 h ago: the last success is 30 h old.
    // etc: succeeded 30 h ago, within its own max_age of 3 days. `new`: never ran.
    await appendHistory(job, runOf([sourceRun('db', 78, 'success', 1000), sourceRun('etc', 78, 'success', 500)], job));
    await appendHistory(job, runOf([sourceRun('db', 54, 'success', 1000), sourceRun('etc', 54, 'success', 500)], job));
    await appendHistory(job, runOf([sourceRun('db', 30, 'success', 1300), sourceRun('etc', 30, 'success', 500)], job));
    await appendHistory(job, runOf([sourceRun('db', 5, 'failure')], job));
  });
  afterAll(async () => {
    await receiver?.close();
    await tmp?.remove();
  });
  beforeEach(() => receiver.clear());

  it('reports OVERDUE past max_age and exits 1, without notifying unless asked', async () => {
    const result = await runCli(['status', jobFile]);
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('db '))).toMatch(/^db\s+OVERDUE\s+.*failure.*\s30h\s+26h\s+75% \(3\/4\)\s+36s\s+1\.3 KiB\s+\+30%$/);
    expect(lines.find((l) => l.startsWith('etc '))).toMatch(/^etc\s+OK\s+.*success.*\s30h\s+3d\s+100% \(3\/3\)/);
    expect(lines.find((l) => l.startsWith('new '))).toMatch(/^new\s+OVERDUE\s+-\s+-\s+-\s+24h\s+-/);
    expect(result.stdout).toContain('OVERDUE db: last success');
    expect(result.stdout).toContain('OVERDUE new: no successful run recorded (max_age 24h)');
    expect(receiver.requests).toHaveLength(0);
  });

  it('--json gives the same findings as data', async () => {
    const result = await runCli(['status', jobFile, '--json']);
    expect(result.code).toBe(1);
    const status = JSON.parse(result.stdout) as { runs: number; overdue: string[]; sources: Record<string, unknown>[] };
    expect(status.runs).toBe(4);
    expect(status.overdue).toEqual(['db', 'new']);
    const db = status.sources.find((s) => s.id === 'db')!;
    expect(db).toMatchObject({ state: 'OVERDUE', overdue: true, runs: 4, successes: 3, success_rate: 0.75, average_duration_seconds: 36, max_age_seconds: 26 * 3600 });
    expect(db.size_trend).toEqual({ last_bytes: 1300, previous_average_bytes: 1000, change_percent: 30, recent_bytes: [1000, 1000, 1300] });
    expect((db.last_run as { status: string }).status).toBe('failure');
    expect(db.age_seconds as number).toBeGreaterThan(29.9 * 3600);
    expect(status.sources.find((s) => s.id === 'etc')).toMatchObject({ state: 'OK', overdue: false, max_age_seconds: 3 * 86400 });
  });

  it('--notify sends the overdue finding to the alerting channels (not to metrics)', async () => {
    const result = await runCli(['status', jobFile, '--notify']);
    expect(result.code).toBe(1);
    await receiver.waitForRequests(2);
    expect(receiver.requests.map((r) => r.pathname).sort()).toEqual(['/backup-alerts', '/hook']);

    const hook = receiver.requests.find((r) => r.pathname === '/hook')!.json<{ event: string; run: RunReport }>();
    expect(hook.event).toBe('run');
    expect(hook.run.status).toBe('failure');
    expect(hook.run.error).toBe('OVERDUE: db, new (no successful backup within max_age)');
    expect(hook.run.sources.map((s) => [s.id, s.status])).toEqual([
      ['db', 'failure'],
      ['new', 'failure'],
    ]);
    expect(hook.run.sources[0]!.error).toMatch(/^OVERDUE: last success .* is older than max_age 26h \(30h ago\)$/);

    const ntfy = receiver.requests.find((r) => r.pathname === '/backup-alerts')!;
    expect(ntfy.method).toBe('POST');
    expect(ntfy.text).toContain('OVERDUE');
  });

  it('history exports the records as a table, JSON and CSV, per source', async () => {
    const table = await runCli(['history', jobFile]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^STARTED\s+SOURCE\s+STATUS\s+DURATION\s+RAW\s+STORED\s+RATIO\s+DESTINATIONS\s+ERROR$/);
    expect(table.stdout.trim().split('\n')).toHaveLength(1 + 7);

    const json = await runCli(['history', jobFile, '--source', 'db', '--json']);
    const rows = JSON.parse(json.stdout) as { source: string; status: string; stored_bytes: number; compression_ratio?: number }[];
    expect(rows.map((r) => [r.source, r.status, r.stored_bytes])).toEqual([
      ['db', 'success', 1000],
      ['db', 'success', 1000],
      ['db', 'success', 1300],
      ['db', 'failure', 0],
    ]);
    expect(rows[0]!.compression_ratio).toBe(4);

    const csv = await runCli(['history', jobFile, '--csv', '--source', 'etc']);
    const lines = csv.stdout.trim().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]!.split(',').slice(0, 7)).toEqual(['started_at', 'finished_at', 'job', 'hostname', 'source', 'type', 'status']);
    expect(lines[1]!.split(',').slice(2, 7)).toEqual(['job', 'testhost', 'etc', 'folder', 'success']);

    expect((await runCli(['history', jobFile, '--csv', '--json'])).code).toBe(2);
  });
});

describeWith(['tar', 'zstd'], 'history of real runs', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    tmp = await makeTempDir();
    await mkdir(join(tmp.path, 'data'));
    await makeTree(join(tmp.path, 'data'));
  });
  afterAll(() => tmp.remove());

  it('every run is recorded; a dry run is not; status is OK within max_age', async () => {
    const job = await writeJob(tmp.path, {
      max_age: '26h',
      sources: [{ id: 'data', type: 'folder', path: join(tmp.path, 'data'), passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store'), create: 1, retention_copies: 1 }],
    });
    expect((await runCli(['run', '--dry-run', job])).code).toBe(0);
    expect((await runCli([job])).code).toBe(0);
    expect((await runCli([job])).code).toBe(0);

    const rows = JSON.parse((await runCli(['history', job, '--json'])).stdout) as {
      status: string;
      raw_bytes?: number;
      stored_bytes: number;
      destinations: string[];
      retained_runs: number;
      deleted_runs: string[];
      duration_seconds: number;
    }[];
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.status)).toEqual(['success', 'success']);
    expect(rows[1]!.stored_bytes).toBeGreaterThan(0);
    expect(rows[1]!.destinations).toEqual(['disk:success']);
    expect(rows[1]!.retained_runs).toBe(1);
    expect(rows[1]!.duration_seconds).toBeGreaterThan(0);

    const status = await runCli(['status', job]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/\ndata\s+OK\s+/);
    expect(status.stdout).toContain('100% (2/2)');
  });
});
