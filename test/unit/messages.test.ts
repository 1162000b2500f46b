/** Texts an operator reads: errno in words, context named once, progress rates, durations, retention reasons. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressLine } from '../../src/cli/progress.js';
import { retentionText } from '../../src/cli/summary.js';
import { DestinationError, PipelineError, SourceError, describeError, withPath } from '../../src/errors.js';
import { formatDuration } from '../../src/lib/format.js';
import { makeTempDir } from '../support/tmp.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('messages', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    tmp = await makeTempDir();
  });
  afterAll(() => tmp.remove());

  it('system errors read as words with their code, and the path once', async () => {
    const file = join(tmp.path, 'a-file');
    await writeFile(file, '');
    expect(describeError(await rejection(mkdir(join(tmp.path, 'no', 'such'))))).toBe(
      `${join(tmp.path, 'no', 'such')}: cannot create it: its parent folder does not exist (ENOENT)`,
    );
    expect(describeError(await rejection(mkdir(join(file, 'sub'))))).toBe(`${join(file, 'sub')}: a part of the path is not a folder (ENOTDIR)`);
  });

  it('a failed write() names the file it wrote (a full disk: which one)', async () => {
    // /dev/full: every write fails with ENOSPC, and write() errors carry no path of their own.
    const raw = await rejection(writeFile('/dev/full', 'x'));
    expect(describeError(raw)).toBe('no space left on the device (ENOSPC)');
    expect(describeError(withPath(raw, '/var/lib/backup-runner/state.json'))).toBe('/var/lib/backup-runner/state.json: no space left on the device (ENOSPC)');
    // An error that names its file keeps it.
    const named = await rejection(mkdir(join(tmp.path, 'no', 'such')));
    expect(describeError(withPath(named, '/elsewhere'))).toMatch(new RegExp(`^${join(tmp.path, 'no', 'such')}: `));
  });

  it('an error shown under its own source or destination does not name it again', () => {
    const dest = new DestinationError('storing a/b failed: no space left on the device (ENOSPC)', { plugin: 'usb' });
    expect(describeError(dest)).toBe('destination usb: storing a/b failed: no space left on the device (ENOSPC)');
    expect(describeError(dest, { layer: 'destination', plugin: 'usb' })).toBe('storing a/b failed: no space left on the device (ENOSPC)');
    expect(describeError(dest, { layer: 'destination', plugin: 'nas' })).toBe('destination usb: storing a/b failed: no space left on the device (ENOSPC)');
    expect(describeError(dest, { layer: 'source', plugin: 'usb' })).toBe('destination usb: storing a/b failed: no space left on the device (ENOSPC)');
    const source = new SourceError('tar exited 2', { plugin: 'files', stderrTail: 'tar: x: Cannot open' });
    expect(describeError(source, { layer: 'source', plugin: 'files' })).toBe('tar exited 2: tar: x: Cannot open');
    expect(describeError(new PipelineError('zstd exited 1', { plugin: 'files' }), { layer: 'source', plugin: 'files' })).toBe('zstd exited 1');
  });

  it('the progress line rounds rates into human units', () => {
    const line = progressLine({ file: 'db.sql.zst.gpg', storedBytes: 1000, seconds: 14.07, done: false });
    expect(line).toBe('db.sql.zst.gpg  1000 B stored  71 B/s  14s');
    expect(progressLine({ file: 'x', storedBytes: 5 * 1048576, seconds: 3, done: true })).toBe('x  5.0 MiB stored  1.7 MiB/s  3.0s');
  });

  it('short durations keep tenths of a second', () => {
    expect(formatDuration(0.42)).toBe('0.4s');
    expect(formatDuration(9.2)).toBe('9.2s');
    expect(formatDuration(12.4)).toBe('12s');
    expect(formatDuration(75)).toBe('1m 15s');
  });

  it('retention says why it kept runs, and keeps the plain count without reasons', () => {
    const kept = ['20260301020000', '20260302020000', '20260303020000', '20260304020000'];
    const reasons = {
      '20260304020000': 'copy 1',
      '20260303020000': 'copy 2',
      '20260302020000': 'copy 3',
      '20260301020000': 'incomplete, does not count as a copy',
      '20260201020000': 'older than 30 days',
    };
    expect(retentionText({ kept, deleted: ['20260201020000'], dryRun: false, reasons })).toBe(
      'kept 4 run(s): 3 copies; 1 run: incomplete, does not count as a copy, removed 1',
    );
    expect(retentionText({ kept, deleted: [], dryRun: false })).toBe('kept 4 run(s), removed 0');
    expect(retentionText({ kept, deleted: [], dryRun: false, reasons: { '20260304020000': 'copy 1' } })).toBe('kept 4 run(s): 1 copy; 3 runs: no reason recorded, removed 0');
  });
});
