import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flagfileNotification } from '../../src/notifications/flagfile/index.js';
import { buildNotifier, deliver } from '../support/notifier-harness.js';
import { eventsOf, makeRunReport } from '../support/reports.js';
import { makeTempDir } from '../support/tmp.js';

describe('flagfile', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    tmp = await makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('writes OK, as the original did, after a successful run (scripts compare its content), readable by the monitoring user under the runner\'s umask 077', async () => {
    const file = join(tmp.path, 'state', 'nightly.ok');
    const umask = process.umask(0o077);
    try {
      await deliver(await buildNotifier(flagfileNotification, { flagfile: file }), eventsOf(makeRunReport({ status: 'success' })));
    } finally {
      process.umask(umask);
    }
    expect(await readFile(file, 'utf8')).toBe('OK');
    expect((await stat(file)).mode & 0o777).toBe(0o644);
    expect(await readdir(join(tmp.path, 'state'))).toEqual(['nightly.ok']);
  });

  it('replaces older content and leaves the file alone after a failed run (`filename` as in the original README)', async () => {
    const file = join(tmp.path, 'gitdata.ok');
    await writeFile(file, 'stale content from elsewhere\n');
    const before = (await stat(file)).mtimeMs;
    const notifier = await buildNotifier(flagfileNotification, { filename: file });
    await deliver(notifier, eventsOf(makeRunReport({ status: 'failure' })));
    expect(await readFile(file, 'utf8')).toBe('stale content from elsewhere\n');
    expect((await stat(file)).mtimeMs).toBe(before);
    await deliver(notifier, eventsOf(makeRunReport({ status: 'success' })));
    expect(await readFile(file, 'utf8')).toBe('OK');
  });
});
