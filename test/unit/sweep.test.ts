import { spawnSync } from 'node:child_process';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { localDestination } from '../../src/destinations/local/index.js';
import { silentLogger } from '../../src/log.js';
import { makeRunTempDir, tempFolderOwnerAlive } from '../../src/lib/temp-dir.js';
import { sweepPartials, sweepTempFolders } from '../../src/pipeline/sweep.js';
import { makeTempDir } from '../support/tmp.js';

const TEMP_DIR_JS = fileURLToPath(new URL('../../dist/lib/temp-dir.js', import.meta.url));

/** A real process that makes a run temp folder with a pgpass file in it, then exits (as kill -9 would leave it). */
function folderOfDeadProcess(base: string): string {
  const script = `const { makeRunTempDir } = await import(${JSON.stringify(TEMP_DIR_JS)});
    const { writeFileSync } = await import('node:fs');
    const dir = await makeRunTempDir(${JSON.stringify(base)}, 'backup-runner-');
    writeFileSync(dir + '/pgpass-0123abcd', '*:*:*:*:secret', { mode: 0o600 });
    process.stdout.write(dir);`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

describe('sweepTempFolders', () => {
  const dirs: { remove: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await d.remove();
  });

  it('removes the folders of dead processes with their credentials files, and keeps live, foreign and unrelated ones', async () => {
    const base = await makeTempDir();
    dirs.push(base);
    const dead = folderOfDeadProcess(base.path);
    const mine = await makeRunTempDir(base.path, 'backup-runner-restore-');
    await writeFile(join(mine, 'pgpass-1111'), 'x');
    // Another host's folder (a tmpdir on a shared mount): its owner cannot be checked from here.
    const foreign = join(base.path, 'backup-runner-4242-99-000000000000-AbCdEf');
    const unrelated = join(base.path, 'other-tool-AbCdEf');
    // Folders of versions that recorded no owner: swept only once old.
    const oldUnowned = join(base.path, 'backup-runner-Xy12Zq');
    const freshUnowned = join(base.path, 'backup-runner-Ab34Cd');
    for (const d of [foreign, unrelated, oldUnowned, freshUnowned]) await mkdir(d);
    await writeFile(join(oldUnowned, 'mysql-client.cnf-abcdef01'), '[client]\npassword=x\n');
    const twoDaysAgo = new Date(Date.now() - 48 * 3600 * 1000);
    await utimes(oldUnowned, twoDaysAgo, twoDaysAgo);

    expect(tempFolderOwnerAlive(dead.slice(base.path.length + 1))).toBe(false);
    expect(tempFolderOwnerAlive(mine.slice(base.path.length + 1))).toBe(true);

    const swept = await sweepTempFolders(base.path);
    expect(swept.filter((s) => s.key.startsWith(base.path)).map((s) => [s.kind, s.key.slice(base.path.length + 1)]).sort()).toEqual(
      [
        ['temp folder', dead.slice(base.path.length + 1)],
        ['credential file', `${dead.slice(base.path.length + 1)}/pgpass-0123abcd`],
        ['temp folder', 'backup-runner-Xy12Zq'],
        ['credential file', 'backup-runner-Xy12Zq/mysql-client.cnf-abcdef01'],
      ].sort(),
    );
    expect((await readdir(base.path)).sort()).toEqual(
      [mine, foreign, unrelated, freshUnowned].map((d) => d.slice(base.path.length + 1)).sort(),
    );
  });

  it('refuses a prefix the sweep would not recognise', async () => {
    await expect(makeRunTempDir('/tmp', 'backup-')).rejects.toThrow(/must start with backup-runner-/);
  });
});

describe('sweepPartials', () => {
  it('removes the partial uploads the policy accepts and reports them', async () => {
    const dir = await makeTempDir();
    try {
      const ctx = { job: { path: '/job.json', name: 'job', hostname: 'host' }, logger: silentLogger };
      const d = await localDestination.create(localDestination.options.parse({ path: dir.path }) as never, ctx);
      await mkdir(join(dir.path, 'db/20260101000000'), { recursive: true });
      await writeFile(join(dir.path, 'db/20260101000000/.db.sql.zst.gpg.partial-0a1b2c3d4e5f'), 'half');
      await writeFile(join(dir.path, 'db/20260101000000/.db.manifest.json.partial-abcdef012345'), '{');
      const swept = await sweepPartials(d, 'db/', (p) => p.key.endsWith('.gpg'));
      expect(swept).toEqual([{ key: 'db/20260101000000/db.sql.zst.gpg', size: 4, kind: 'partial upload' }]);
      expect(await readdir(join(dir.path, 'db/20260101000000'))).toEqual(['.db.manifest.json.partial-abcdef012345']);
      expect(await sweepPartials(d, 'db/', () => true)).toEqual([{ key: 'db/20260101000000/db.manifest.json', size: 1, kind: 'partial upload' }]);
      // The emptied run folders go too.
      expect(await readdir(dir.path)).toEqual([]);
    } finally {
      await dir.remove();
    }
  });
});
