/**
 * stall_timeout: a dump that stops without ending (tar on a hung NFS mount, pg_dump waiting for
 * a lock) fails the run after the timeout instead of holding it, and the job's lock, for ever;
 * its program is stopped and nothing of it is stored. Through the built CLI, with a "tar" that
 * writes a little and then hangs.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { filesUnder } from '../support/files.js';
import { writeJob } from '../support/jobs.js';
import { writeScript } from '../support/plugins.js';
import { makeTempDir } from '../support/tmp.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describeWith(['zstd', 'tar'], 'stall_timeout', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    tmp = await makeTempDir();
  });
  afterAll(async () => {
    await tmp?.remove();
  });

  it('fails a source that stops without ending, stops its program, stores nothing; a later run goes on', async () => {
    const data = join(tmp.path, 'data');
    await mkdir(data);
    await writeFile(join(data, 'file.txt'), 'data\n');
    const pidFile = join(tmp.path, 'hung-tar.pid');
    // Writes the start of an archive, then hangs as tar does on a dead NFS server.
    const hungTar = await writeScript(tmp.path, 'hung-tar', `echo $$ > '${pidFile}'\nprintf 'the start of an archive'\nexec sleep 600`);
    const job = await writeJob(tmp.path, {
      stall_timeout: '2s',
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: 'stall test passphrase', tar_command: hungTar }],
      destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store'), create: 1 }],
    });
    const started = Date.now();
    const result = await runCli(['-v', job], { timeoutMs: 60_000 });
    const seconds = (Date.now() - started) / 1000;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/ERROR source data failed: no data from the source for 2(\.0)?s \(stall_timeout\): it stopped without ending/);
    expect(seconds).toBeLessThan(20);
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(alive(pid), 'the hung program was stopped').toBe(false);
    expect((await filesUnder(join(tmp.path, 'store'))).filter((f) => f.endsWith('.gpg'))).toEqual([]);

    // The lock is free and the next run (a real tar) stores the folder.
    const real = await writeJob(tmp.path, {
      stall_timeout: '2s',
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: 'stall test passphrase' }],
      destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store'), create: 1 }],
    });
    const next = await runCli([real]);
    expect(next.code, next.stderr).toBe(0);
    expect(execFileSync('find', [join(tmp.path, 'store'), '-name', '*.gpg'], { encoding: 'utf8' }).trim().split('\n')).toHaveLength(1);
  });
});
