import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { printRunSummary } from '../../src/cli/summary.js';
import type { RunReport } from '../../src/report.js';

describe('dry-run summary', () => {
  it('prints the retention plan run by run, newest first, with the rule that keeps each or why it would go', () => {
    const report: RunReport = {
      runId: 'r',
      jobName: 'job',
      jobPath: '/etc/job.json',
      hostname: 'h',
      toolVersion: 't',
      status: 'success',
      startedAt: '2026-11-29T00:00:00Z',
      dryRun: true,
      logTail: [],
      sources: [
        {
          id: 'db',
          name: 'db',
          type: 'folder',
          status: 'success',
          runKey: '20261129000000',
          startedAt: '2026-11-29T00:00:00Z',
          warnings: [],
          artifacts: [],
          compression: 'zstd',
          encryption: 'openpgp-passphrase',
          destinations: [
            {
              id: 'disk',
              type: 'local',
              status: 'skipped',
              keys: [],
              storedBytes: 0,
              uploadSeconds: 0,
              retention: {
                dryRun: true,
                kept: ['20261129000000', '20261127000000'],
                deleted: ['20261128000000'],
                reasons: { '20261129000000': 'the run a real run would store now (copy 1)', '20261127000000': 'copy 2', '20261128000000': 'incomplete, older than the copies kept' },
              },
            },
          ],
        },
      ],
    };
    let out = '';
    printRunSummary(
      report,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          out += chunk.toString();
          callback();
        },
      }),
    );
    const plan = out.split('\n').filter((l) => /^\s+(keep|would remove)\s/.test(l)).map((l) => l.trim().replace(/\s+/g, ' '));
    expect(plan).toEqual([
      'keep 20261129000000: the run a real run would store now (copy 1)',
      'would remove 20261128000000: incomplete, older than the copies kept',
      'keep 20261127000000: copy 2',
    ]);
  });
});
