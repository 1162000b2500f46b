/**
 * What `list` and `verify` say about a destination that is not what it should be: unmounted,
 * or holding a newest run whose manifest is damaged.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';
import { makeTree } from '../support/tree.js';

const PASSPHRASE = 'list and verify passphrase';

describeWith(['tar', 'zstd'], 'list and verify on a destination that is not what it should be', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let data: string;

  beforeAll(async () => {
    tmp = await makeTempDir();
    data = join(tmp.path, 'data');
    await makeTree(data);
  });
  afterAll(() => tmp?.remove());

  it('list on an unmounted destination fails (exit 1) instead of saying "no runs stored"', async () => {
    const job = await writeJob(tmp.path, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'usb', type: 'local', path: join(tmp.path, 'not-mounted') }],
    }, 'unmounted.json');
    const list = await runCli(['list', job]);
    expect(list.code).toBe(1);
    expect(list.stdout).not.toMatch(/no runs stored/);
    expect(list.stderr).toMatch(/cannot list usb: .*does not exist \(is the drive mounted\?/);
  });

  it('a damaged newest manifest: list says incomplete and why, verify fails naming the run it checked and why', async () => {
    const store = join(tmp.path, 'store');
    const job = await writeJob(tmp.path, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: store, create: 1 }],
    });
    for (let i = 0; i < 2; i++) expect((await runCli([job])).code).toBe(0);
    const runs = (await readdir(join(store, 'data'))).sort();
    expect(runs).toHaveLength(2);
    // Two runs in the same second take slots 1 and 2: sorted, the second is the newer either way.
    const [older, newer] = runs as [string, string];
    await writeFile(join(store, 'data', newer, 'data.manifest.json'), '{"format": 1, "tool": "backup-ru');

    const list = await runCli(['list', job]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^DESTINATION\s+SOURCE\s+RUN\s+STARTED \(UTC\)\s+STATE\s+FILES\s+SIZE\s+NOTE/);
    expect(list.stdout).toMatch(new RegExp(`disk\\s+data\\s+${newer}\\s+\\S+\\s+incomplete\\s+.*manifest cannot be read`));
    expect(list.stdout).toMatch(new RegExp(`disk\\s+data\\s+${older}\\s+\\S+\\s+complete`));

    const verify = await runCli(['verify', job]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(new RegExp(`FAILED data on disk run ${older}: the newest run is not whole: ${newer} is incomplete`));
    expect(verify.stdout).toMatch(new RegExp(`checked run ${older}: the newest complete run; newer: ${newer} is incomplete`));

    // Asked for explicitly, the damaged run fails; the whole one passes.
    expect((await runCli(['verify', job, '--run', newer])).code).toBe(1);
    const olderOnly = await runCli(['verify', job, '--run', older]);
    expect(olderOnly.code, olderOnly.stdout).toBe(0);

    // restore takes the whole run and says why.
    const restore = await runCli(['restore', job, '--to', join(tmp.path, 'restored')]);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).toContain(`restoring data run ${older} from disk: the newest complete run; newer: ${newer} is incomplete`);
  });
});
