/**
 * `run --dry-run` started in the same second as a stored run: the run a real run would store
 * then takes the next sequence number (run-slot.ts), so that is the run the preview must count
 * as the newest copy. Counting the stored run instead, the preview kept it "as the run a real
 * run would store now" and said nothing would be removed, while the real run removes it.
 *
 * Both processes start at the same faked wall-clock second (libfaketime's "start at" mode: the
 * clock then runs on normally), so the collision is certain, not a race of the machine's speed.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { BIN } from '../support/cli.js';
import { writeJob } from '../support/jobs.js';
import { runProgram } from '../support/run.js';
import { makeDataTree } from '../support/tree.js';

const SECOND = '2026-01-01 00:00:00';
const RUN_KEY = '20260101000000';

/** The CLI with its wall clock starting at SECOND (monotonic time, which timers use, left alone). */
const runAtSecond = (args: readonly string[]) =>
  runProgram('faketime', ['-f', `@${SECOND}`, process.execPath, BIN, ...args], { env: { ...process.env, FAKETIME_DONT_FAKE_MONOTONIC: '1' } });

describeWith(['tar', 'zstd', 'faketime'], 'dry run in the second of a stored run', () => {
  let tree: Awaited<ReturnType<typeof makeDataTree>>;
  beforeAll(async () => {
    tree = await makeDataTree();
  });
  afterAll(async () => {
    await tree?.tmp.remove();
  });

  it('counts the run a real run would store (the next sequence number), so it names the stored run it would remove', async () => {
    const dir = tree.tmp.path;
    const job = await writeJob(dir, {
      sources: [{ id: 'files', type: 'folder', path: tree.data, encryption: 'none' }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1, fsync: 0, retention_copies: 1 }],
    });
    const first = await runAtSecond(['run', job]);
    expect(first.code, first.stderr).toBe(0);
    const listed = await runAtSecond(['list', job]);
    expect(listed.stdout).toMatch(new RegExp(`\\b${RUN_KEY}\\b.*complete`));

    const dry = await runAtSecond(['run', '--dry-run', job]);
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`keep\\s+${RUN_KEY}-2: the run a real run would store now`));
    expect(dry.stdout).toMatch(new RegExp(`would remove ${RUN_KEY}\\b`));
    expect(dry.stdout).not.toMatch(/would remove nothing/);

    // And the real run does what the preview said.
    const real = await runAtSecond(['run', job]);
    expect(real.code, real.stderr).toBe(0);
    const after = await runAtSecond(['list', job]);
    expect(after.stdout).toMatch(new RegExp(`\\b${RUN_KEY}-2\\b.*complete`));
    expect(after.stdout).not.toMatch(new RegExp(`\\b${RUN_KEY}\\b(?!-)`));
  });
});
