import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendHistory, historyPath, historyRecord, readHistory } from '../../src/state/history.js';
import { historyCsv, historyRows } from '../../src/state/export.js';
import { makeDestinationReport, makeRunReport, makeSourceReport } from '../support/reports.js';
import { makeTempDir } from '../support/tmp.js';

describe('run history', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    tmp = await makeTempDir();
  });
  afterAll(() => tmp.remove());

  const job = (name: string) => ({ stateDir: join(tmp.path, 'state'), info: { path: `/etc/backup/${name}.json`, name, hostname: 'db1' } });

  it('records per source: status, times, durations, bytes, ratio, throughput, destinations, retention', () => {
    const source = makeSourceReport({
      id: 'db',
      durationSeconds: 40,
      destinations: [
        makeDestinationReport({ id: 'disk', uploadSeconds: 3 }),
        makeDestinationReport({ id: 's3', type: 's3', uploadSeconds: 7.25, retention: { kept: ['20260314020000'], deleted: ['20260301020000', '20260302020000'], dryRun: false } }),
      ],
    });
    const [s] = historyRecord(makeRunReport({ sources: [source] })).sources;
    expect(s).toMatchObject({
      id: 'db',
      status: 'success',
      started_at: source.startedAt,
      finished_at: source.finishedAt,
      duration_seconds: 40,
      upload_seconds: 7.25,
      raw_bytes: 10 * 1024 * 1024,
      stored_bytes: 2 * 1024 * 1024,
      compression_ratio: 5,
      throughput_bytes_per_second: Math.round((10 * 1024 * 1024) / 40),
    });
    expect(s!.destinations.map((d) => [d.id, d.status, d.upload_seconds, d.retained_runs?.length, d.deleted_runs])).toEqual([
      ['disk', 'success', 3, 3, ['20260301020000']],
      ['s3', 'success', 7.25, 1, ['20260301020000', '20260302020000']],
    ]);
  });

  it('keeps every record whole when many runs append at once', async () => {
    const j = job('busy');
    await Promise.all(Array.from({ length: 40 }, (_, i) => appendHistory(j, makeRunReport({ runId: `run-${i}`, sources: [makeSourceReport({ id: 'db', warnings: ['x'.repeat(5000)] })] }))));
    const read = await readHistory(j);
    expect(read.skipped).toBe(0);
    expect(read.records.map((r) => r.run_id).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `run-${i}`).sort());
    const text = await readFile(historyPath(j.stateDir, j.info), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    // Forty whole lines. A writer that looked at the file's last byte while another record was
    // half copied in may start its own on a fresh line: a blank line, which readers skip.
    const lines = text.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(40);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('skips a torn last line, and the next record starts on a line of its own', async () => {
    const j = job('torn');
    await appendHistory(j, makeRunReport({ runId: 'before-crash' }));
    await appendFile(historyPath(j.stateDir, j.info), '{"format":1,"run_id":"torn","sour');
    expect((await readHistory(j)).skipped).toBe(1);
    await appendHistory(j, makeRunReport({ runId: 'after-crash' }));
    const read = await readHistory(j);
    expect(read.records.map((r) => r.run_id)).toEqual(['before-crash', 'after-crash']);
    expect(read.skipped).toBe(1);
  });

  it('keeps different jobs in different files (name and hash of the path)', () => {
    const a = historyPath('/var/lib/backup-runner', { path: '/etc/backup/nightly.json', name: 'nightly', hostname: 'h' });
    const b = historyPath('/var/lib/backup-runner', { path: '/srv/other/nightly.json', name: 'nightly', hostname: 'h' });
    expect(a).toMatch(/^\/var\/lib\/backup-runner\/history\/nightly-[0-9a-f]{12}\.jsonl$/);
    expect(a).not.toBe(b);
  });

  it('exports CSV per RFC 4180', () => {
    const run = makeRunReport({ sources: [makeSourceReport({ id: 'db', status: 'failure', error: 'mysqldump exited 2: "Lost connection", retrying\nnext line' })] });
    const csv = historyCsv(historyRows([historyRecord(run)]));
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(
      'started_at,finished_at,job,hostname,source,type,status,run_key,duration_seconds,upload_seconds,raw_bytes,stored_bytes,compression_ratio,throughput_bytes_per_second,destinations,retained_runs,deleted_runs,warnings,error,run_id',
    );
    expect(csv).toContain(',"mysqldump exited 2: ""Lost connection"", retrying\nnext line",');
    expect(csv.endsWith('\r\n')).toBe(true);
  });
});
