import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { duplicatiDuration } from '../../src/notifications/duplistatus/create.js';
import { duplistatusNotification } from '../../src/notifications/duplistatus/index.js';
import { HttpStatusError, isPermanentHttpError } from '../../src/lib/http.js';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { startReceiver, type Receiver, type RecordedRequest, type ReceiverResponse } from '../support/http-receiver.js';
import { writeJob } from '../support/jobs.js';
import { buildNotifier, deliver, rejectionOf } from '../support/notifier-harness.js';
import { eventsOf, makeDestinationReport, makeRunReport, makeSourceReport } from '../support/reports.js';
import { makeTempDir } from '../support/tmp.js';
import { makeTree } from '../support/tree.js';

type Upload = { Data: Record<string, unknown> & { BackendStatistics: Record<string, unknown> }; Extra: Record<string, string>; LogLines: unknown };

/**
 * duplistatus' `POST /api/upload`, as duplistatus' server answers it: Duplicati's
 * report JSON; MainOperation must be "Backup"; 400 names missing Extra/Data fields; a second
 * report with the same machine-id, backup-name and BeginTime is `409 {"error":"ignored,
 * duplicated data"}`; otherwise `200 {"success":true}`.
 */
function duplistatusServer(accepted: Upload[]) {
  const seen = new Set<string>();
  return (req: RecordedRequest): ReceiverResponse => {
    if (req.method !== 'POST' || req.pathname !== '/api/upload') return { status: 404, body: 'not found' };
    let data: Upload;
    try {
      data = req.json<Upload>();
    } catch {
      return { status: 400, json: { error: 'Invalid JSON' } };
    }
    if (data.Data?.MainOperation !== 'Backup') return { status: 400, json: { error: 'Only backup operations are supported' } };
    const missingExtra = ['machine-id', 'machine-name', 'backup-name', 'backup-id'].filter((k) => !data.Extra?.[k]);
    if (missingExtra.length) return { status: 400, json: { error: `Missing required fields in Extra section: ${missingExtra.join(', ')}` } };
    const missingData = ['ParsedResult', 'BeginTime', 'Duration'].filter((k) => !data.Data[k]);
    if (missingData.length) return { status: 400, json: { error: `Missing required fields in Data section: ${missingData.join(', ')}` } };
    const key = `${data.Extra['machine-id']}\0${data.Extra['backup-name']}\0${new Date(String(data.Data.BeginTime)).toISOString()}`;
    if (seen.has(key)) return { status: 409, json: { error: 'ignored, duplicated data' } };
    seen.add(key);
    accepted.push(data);
    return { json: { success: true } };
  };
}

describe('duplistatus notification', () => {
  let receiver: Receiver;
  let accepted: Upload[];
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.clear();
    accepted = [];
    receiver.respond(duplistatusServer(accepted));
  });

  it('sends each finished source as a Duplicati report, every field as duplistatus reads it', async () => {
    const db = makeSourceReport({ id: 'db', startedAt: '2026-03-14T02:00:00.000Z', durationSeconds: 42.5, finishedAt: '2026-03-14T02:00:42.500Z' });
    const etc = makeSourceReport({ id: 'etc', startedAt: '2026-03-14T02:00:43.000Z' });
    const run = makeRunReport({ sources: [db, etc] });
    const notifier = await buildNotifier(duplistatusNotification, { id: 'dash', url: `${receiver.url}/` });
    await deliver(notifier, eventsOf(run));

    // Only the two finished sources: no start events, no run summary.
    expect(receiver.requests).toHaveLength(2);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.pathname).toBe('/api/upload');
    expect(req.headers['content-type']).toBe('application/json');
    expect(accepted).toHaveLength(2);

    const { Data, Extra, LogLines } = accepted[0]!;
    expect(Data.MainOperation).toBe('Backup');
    expect(Data.ParsedResult).toBe('Success');
    expect(Data.BeginTime).toBe('2026-03-14T02:00:00.000Z');
    expect(Data.EndTime).toBe('2026-03-14T02:00:42.500Z');
    expect(Data.Duration).toBe('00:00:42.5000000');
    expect(Data.ExaminedFiles).toBe(1);
    expect(Data.SizeOfExaminedFiles).toBe(10 * 1024 * 1024);
    expect(Data.WarningsActualLength).toBe(0);
    expect(Data.ErrorsActualLength).toBe(0);
    expect(Data.MessagesActualLength).toBe((LogLines as string[]).length);
    expect(Data.Version).toBe('backup-runner 0.1.0');
    expect(Data.BackendStatistics.BytesUploaded).toBe(2 * 1024 * 1024);
    expect(Data.BackendStatistics.KnownFileSize).toBe(2 * 1024 * 1024);
    expect(Data.BackendStatistics.BackupListCount).toBe(3);
    expect(Extra['machine-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(Extra['machine-name']).toBe('db1.example.org');
    expect(Extra['backup-name']).toBe('nightly/db');
    expect(Extra['backup-id']).toMatch(/^br-[0-9a-f]{16}$/);
    expect(Array.isArray(LogLines) && (LogLines as unknown[]).every((l) => typeof l === 'string')).toBe(true);
    expect((LogLines as string[])[0]).toContain('db (mysql): OK');

    // Same machine for every source of the host; a backup identity per source.
    const second = accepted[1]!.Extra;
    expect(second['machine-id']).toBe(Extra['machine-id']);
    expect(second['backup-name']).toBe('nightly/etc');
    expect(second['backup-id']).not.toBe(Extra['backup-id']);
  });

  it('treats 409 "ignored, duplicated data" as delivered', async () => {
    const run = makeRunReport();
    const notifier = await buildNotifier(duplistatusNotification, { url: receiver.url });
    const success = eventsOf(run).filter((e) => e.kind === 'success');
    await deliver(notifier, success);
    await deliver(notifier, success);
    expect(receiver.requests).toHaveLength(2);
    expect(accepted).toHaveLength(1);
  });

  it('maps outcomes: warnings → Warning, nothing stored → Fatal, stored somewhere → Error, with the error and log tail', async () => {
    const warned = makeSourceReport({ id: 'www', warnings: ['tar exited 1: file changed as we read it'] });
    const fatal = makeSourceReport({ id: 'db', status: 'failure' });
    const partial = makeSourceReport({
      id: 'files',
      status: 'failure',
      error: 'destination s3: upload aborted',
      destinations: [makeDestinationReport({ id: 'disk' }), makeDestinationReport({ id: 's3', status: 'failure', error: 'upload aborted', keys: [], storedBytes: 0, retention: undefined })],
    });
    const run = makeRunReport({ sources: [warned, fatal, partial] });
    const notifier = await buildNotifier(duplistatusNotification, { url: receiver.url, backup_name: '{hostname}: {source}', machine_id: 'f00d', machine_name: 'db one' });
    await deliver(notifier, eventsOf(run));
    expect(accepted.map((a) => [a.Extra['backup-name'], a.Data.ParsedResult])).toEqual([
      ['db1.example.org: www', 'Warning'],
      ['db1.example.org: db', 'Fatal'],
      ['db1.example.org: files', 'Error'],
    ]);
    expect(accepted[0]!.Data.WarningsActualLength).toBe(1);
    expect(accepted[0]!.Data.Warnings).toEqual(['tar exited 1: file changed as we read it']);
    const failed = accepted[1]!;
    expect(failed.Extra['machine-id']).toBe('f00d');
    expect(failed.Extra['machine-name']).toBe('db one');
    expect(failed.Data.ErrorsActualLength).toBe(1);
    expect(failed.Data.Errors).toEqual(['mysqldump exited 2: Lost connection to MySQL server during query']);
    expect(failed.Data.ExaminedFiles).toBe(0);
    expect(failed.LogLines).toContain('ERROR mysqldump exited 2: Lost connection to MySQL server during query');
    expect(accepted[2]!.Data.BackendStatistics.BytesUploaded).toBe(2 * 1024 * 1024);
  });

  it('writes Duration as HH:MM:SS.fffffff with hours past 24, never the .NET d.HH form', () => {
    expect(duplicatiDuration(0)).toBe('00:00:00.0000000');
    expect(duplicatiDuration(1.2345678)).toBe('00:00:01.2345678');
    expect(duplicatiDuration(3599.99999999)).toBe('01:00:00.0000000');
    expect(duplicatiDuration(27 * 3600 + 180)).toBe('27:03:00.0000000');
    expect(duplicatiDuration(100 * 3600 + 61.5)).toBe('100:01:01.5000000');
  });

  it('fails with the server\'s 400 message, as a permanent error (not retried)', async () => {
    receiver.respond(() => ({ status: 400, json: { error: 'Missing required fields in Extra section: backup-id' } }));
    const notifier = await buildNotifier(duplistatusNotification, { id: 'dash', url: receiver.url });
    const error = await rejectionOf(deliver(notifier, eventsOf(makeRunReport())));
    expect(error).toBeInstanceOf(HttpStatusError);
    expect(isPermanentHttpError(error)).toBe(true);
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain('backup-id');
  });

  it('sends nothing for a failure outside any source', async () => {
    const notifier = await buildNotifier(duplistatusNotification, { url: receiver.url });
    const setup = makeRunReport({ status: 'failure', sources: [], error: 'another run holds the lock' });
    await deliver(notifier, [{ kind: 'failure', source: undefined, run: setup }, { kind: 'run', run: setup }]);
    expect(receiver.requests).toHaveLength(0);
  });
});

describeWith(['tar', 'zstd'], 'duplistatus notification, end to end', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let receiver: Receiver;
  const accepted: Upload[] = [];
  beforeAll(async () => {
    tmp = await makeTempDir();
    receiver = await startReceiver(duplistatusServer(accepted));
  });
  afterAll(async () => {
    await receiver?.close();
    await tmp?.remove();
  });

  it('reports a real run of two sources to the dashboard', async () => {
    const data = join(tmp.path, 'data');
    await mkdir(data);
    await makeTree(data);
    const job = await writeJob(tmp.path, {
      sources: [
        { id: 'www', type: 'folder', path: data, passphrase: 'duplistatus e2e' },
        { id: 'missing', type: 'folder', path: join(tmp.path, 'nope'), passphrase: 'duplistatus e2e' },
      ],
      destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store'), create: 1 }],
      notifications: [{ id: 'dash', type: 'duplistatus', url: receiver.url }],
    });
    const result = await runCli([job]);
    expect(result.code).toBe(1);
    expect(accepted.map((a) => [a.Extra['backup-name'], a.Data.ParsedResult])).toEqual([
      ['job/www', 'Success'],
      ['job/missing', 'Fatal'],
    ]);
    expect(accepted[0]!.Data.Duration).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{7}$/);
    expect(accepted[0]!.Data.BackendStatistics.BytesUploaded).toBeGreaterThan(0);
    expect(accepted[0]!.Extra['machine-name']).toBe('testhost');
  });
});
