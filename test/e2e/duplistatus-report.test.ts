/**
 * duplistatus through the built CLI: a failed source's LogLines carry the run's real log tail
 * (up to the channel's log_lines, past the old cap of 20), and SizeOfExaminedFiles of a
 * folder source is the size of the tar, not of the encrypted file.
 */
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { startReceiver, type Receiver } from '../support/http-receiver.js';
import { writeJob } from '../support/jobs.js';
import { makeDataTree } from '../support/tree.js';

interface Upload {
  Data: { ParsedResult: string; SizeOfExaminedFiles: number; BackendStatistics: { KnownFileSize: number } };
  Extra: Record<string, string>;
  LogLines: string[];
}

describeWith(['tar', 'zstd'], 'duplistatus reports, end to end', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let receiver: Receiver;
  let data: string;
  beforeAll(async () => {
    ({ tmp, data } = await makeDataTree());
    receiver = await startReceiver(() => ({ json: { success: true } }));
  });
  afterAll(async () => {
    await receiver?.close();
    await tmp?.remove();
  });

  it('a failed source carries the log tail up to log_lines; sizes are the raw tar size', async () => {
    const dir = join(tmp.path, 'run');
    await mkdir(dir);
    // Enough sources before the failing one that the log holds well over 20 lines.
    const good = Array.from({ length: 7 }, (_, i) => ({ id: `good${i}`, type: 'folder', path: data, passphrase: 'duplistatus e2e passphrase' }));
    const job = await writeJob(dir, {
      sources: [...good, { id: 'gone', type: 'folder', path: join(dir, 'missing'), passphrase: 'duplistatus e2e passphrase' }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
      notifications: [{ type: 'duplistatus', url: receiver.url, log_lines: 100 }],
    });
    const result = await runCli([job]);
    expect(result.code, result.stderr).toBe(1);
    const uploads = receiver.requests.map((r) => r.json<Upload>());
    const byName = new Map(uploads.map((u) => [u.Extra['backup-name']!.split('/').pop()!, u]));

    const failed = byName.get('gone')!;
    expect(failed.Data.ParsedResult).toBe('Fatal');
    expect(failed.LogLines.length).toBeGreaterThan(22);
    expect(failed.LogLines).toContainEqual(expect.stringContaining('source good0 (folder) started'));
    expect(failed.LogLines).toContainEqual(expect.stringMatching(/ERROR +source gone failed: cannot read .*missing/));

    const tarBytes = execFileSync('tar', ['-C', dirname(data), '-cf', '-', './data'], { maxBuffer: 1 << 28 }).length;
    const ok = byName.get('good0')!;
    expect(ok.Data.ParsedResult).toBe('Success');
    expect(ok.Data.SizeOfExaminedFiles).toBe(tarBytes);
    expect(ok.Data.BackendStatistics.KnownFileSize).not.toBe(tarBytes);
  });
});
