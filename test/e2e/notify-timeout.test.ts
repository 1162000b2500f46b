/**
 * A channel that never answers must not hold the backup hostage: the run finishes within the
 * channel's timeout, keeps its own exit code, and names the channel in a warning.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { startReceiver, type Receiver } from '../support/http-receiver.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';

describeWith(['tar', 'zstd'], 'a notification channel that hangs', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let receiver: Receiver;

  beforeAll(async () => {
    tmp = await makeTempDir();
    // Answers only after a minute: far beyond the channel's timeout.
    receiver = await startReceiver(() => ({ status: 200, delayMs: 60_000 }));
    await mkdir(join(tmp.path, 'data'));
    await writeFile(join(tmp.path, 'data', 'a.txt'), 'a\n');
  });
  afterAll(async () => {
    await receiver?.close().catch(() => undefined);
    await tmp?.remove();
  });

  it('delays the run by at most its timeout_seconds and does not change the exit code', async () => {
    const job = await writeJob(tmp.path, {
      sources: [{ id: 'data', type: 'folder', path: join(tmp.path, 'data'), passphrase: 'test-passphrase' }],
      destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store'), create: 1 }],
      notifications: [{ id: 'slowhook', type: 'webhook', url: `${receiver.url}/hook`, timeout_seconds: 1 }],
    });
    const started = Date.now();
    const result = await runCli([job]);
    const seconds = (Date.now() - started) / 1000;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/notification slowhook \(webhook\) failed: timed out after 1 s/);
    // Startup and the backup itself take well under 4 s here; the channel may add 1 s at most.
    expect(seconds).toBeLessThan(7);
    expect(receiver.requests.length).toBeGreaterThanOrEqual(1);
  });
});
