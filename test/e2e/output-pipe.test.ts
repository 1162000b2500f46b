/**
 * A reader that closes the runner's output early (`backup -v job.json 2>&1 | head -1`, a cron
 * wrapper that dies, a closed terminal) changes nothing: the run stores the same, exits with
 * the same status and releases its lock (issue 10, failure 9).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli, runShellWithCli } from '../support/cli.js';
import { entriesUnder, filesUnder } from '../support/files.js';
import { isWholeRow, type ListRow } from '../support/faults.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';

const bash = (shell: string) => runShellWithCli(shell);

describeWith(['tar', 'zstd', 'bash', 'head'], 'a closed output pipe', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let data: string;

  beforeAll(async () => {
    tmp = await makeTempDir();
    data = join(tmp.path, 'data');
    await mkdir(data);
    // Several MB, so the run still logs (and prints its summary) after the reader is gone.
    await writeFile(join(data, 'random.bin'), randomBytes(4 * 1024 * 1024));
  });
  afterAll(async () => {
    await tmp?.remove();
  });

  async function job(name: string, more: Record<string, unknown>[] = []): Promise<{ path: string; store: string; state: string }> {
    const store = join(tmp.path, `store-${name}`);
    const state = join(tmp.path, `state-${name}`);
    const path = await writeJob(
      tmp.path,
      {
        state_dir: state,
        sources: [{ id: 'data', type: 'folder', path: data, passphrase: 'output pipe test 77a0' }],
        destinations: [{ id: 'disk', type: 'local', path: store, create: 1 }, ...more],
      },
      `${name}.json`,
    );
    return { path, store, state };
  }

  async function expectStoredAndUnlocked(j: { path: string; store: string; state: string }): Promise<void> {
    expect((await filesUnder(j.store)).filter((f) => f.endsWith('data.tar.zst.gpg'))).toHaveLength(1);
    const listed = await runCli(['list', j.path, '--json', '--destination', 'disk']);
    expect(listed.code, listed.stderr).toBe(0);
    const rows = (JSON.parse(listed.stdout) as ListRow[]).filter((r) => r.source === 'data');
    expect(rows.length, JSON.stringify(rows)).toBe(1);
    expect(isWholeRow(rows[0]!), JSON.stringify(rows)).toBe(true);
    expect(await entriesUnder(join(j.state, 'locks'), false), 'lock released').toEqual([]);
  }

  it('backup -v job.json 2>&1 | head -1: exit 0, the run is whole, the lock is gone', async () => {
    const j = await job('head');
    const result = await bash(`$BACKUP -v '${j.path}' 2>&1 | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`);
    expect(result.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(result.stderr.trim()).toBe('exit=0');
    await expectStoredAndUnlocked(j);
  });

  it('stdout closed before the summary is printed: a failed run still exits 1, the lock is gone', async () => {
    const j = await job('true', [{ id: 'unmounted', type: 'local', path: join(tmp.path, 'not-mounted') }]);
    // `true` exits at once: every write to stdout (the -v summary) meets a closed pipe.
    const result = await bash(`$BACKUP -v '${j.path}' 2>/dev/null | true; echo "exit=\${PIPESTATUS[0]}" >&2`);
    expect(result.stderr.trim()).toBe('exit=1');
    await expectStoredAndUnlocked(j);
  });
});
