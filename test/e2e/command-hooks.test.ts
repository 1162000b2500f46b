/** `before` / `after` / `on_error` commands through the built CLI, per source and per job. */
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { writeJob } from '../support/jobs.js';
import { makeDataTree } from '../support/tree.js';

const PASSPHRASE = 'hooks e2e passphrase';

async function envFile(path: string): Promise<Record<string, string>> {
  const text = await readFile(path, 'utf8');
  return Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

async function history(dir: string): Promise<{ status: string; error?: string; sources: { id: string; status: string; error?: string }[] }[]> {
  const folder = join(dir, 'state', 'history');
  const [file] = await readdir(folder);
  return (await readFile(join(folder, file!), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as never);
}

async function exists(path: string): Promise<boolean> {
  return readdir(path).then(
    () => true,
    () => false,
  );
}

describeWith(['tar', 'zstd'], 'command hooks, end to end', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let data: string;
  beforeAll(async () => {
    ({ tmp, data } = await makeDataTree());
  });
  afterAll(() => tmp.remove());

  it('a failing before fails its source with the output, dumps nothing; after gets the status of each source', async () => {
    const dir = join(tmp.path, 'per-source');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [
        {
          id: 'guarded',
          type: 'folder',
          path: data,
          passphrase: PASSPHRASE,
          before: ['/bin/sh', '-c', 'echo "database is in maintenance mode"; exit 3'],
          after: `env | grep ^BACKUP_ > '${join(dir, 'guarded.env')}'`,
          on_error: `echo "$BACKUP_SOURCE failed: $BACKUP_ERROR" > '${join(dir, 'guarded.error')}'`,
        },
        { id: 'plain', type: 'folder', path: data, passphrase: PASSPHRASE, after: ['/bin/sh', '-c', `env | grep ^BACKUP_ > '${join(dir, 'plain.env')}'`] },
      ],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const result = await runCli(['-v', job]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('database is in maintenance mode');

    expect(await exists(join(dir, 'store', 'guarded'))).toBe(false);
    expect(await exists(join(dir, 'store', 'plain'))).toBe(true);

    const [record] = await history(dir);
    const guarded = record!.sources.find((s) => s.id === 'guarded')!;
    expect(guarded.status).toBe('failure');
    expect(guarded.error).toContain('before command');
    expect(guarded.error).toContain('exited 3: database is in maintenance mode');
    expect(record!.sources.find((s) => s.id === 'plain')!.status).toBe('success');

    const failedEnv = await envFile(join(dir, 'guarded.env'));
    expect(failedEnv).toMatchObject({ BACKUP_PHASE: 'after', BACKUP_JOB: 'job', BACKUP_SOURCE: 'guarded', BACKUP_SOURCE_TYPE: 'folder', BACKUP_STATUS: 'failure', BACKUP_HOSTNAME: 'testhost' });
    expect(failedEnv.BACKUP_ERROR).toContain('database is in maintenance mode');
    expect(await readFile(join(dir, 'guarded.error'), 'utf8')).toContain('guarded failed: before command');

    const okEnv = await envFile(join(dir, 'plain.env'));
    expect(okEnv).toMatchObject({ BACKUP_SOURCE: 'plain', BACKUP_STATUS: 'success', BACKUP_ERROR: '' });
    expect(Number(okEnv.BACKUP_STORED_BYTES)).toBeGreaterThan(0);
    expect(okEnv.BACKUP_RUN_KEY).toMatch(/^\d{14}$/);
  });

  it('a failing job-level before fails the run before any source; the job on_error and after still run; dry runs run no hooks', async () => {
    const dir = join(tmp.path, 'per-job');
    await mkdir(dir);
    const job = await writeJob(dir, {
      before: 'echo "mount /mnt/backup failed" >&2; exit 32',
      on_error: `echo "$BACKUP_STATUS|$BACKUP_SOURCE|$BACKUP_ERROR" > '${join(dir, 'job.error')}'`,
      after: `touch '${join(dir, 'job.after')}'`,
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const dry = await runCli(['run', '--dry-run', job]);
    expect(dry.code, dry.stderr).toBe(0);
    await expect(readFile(join(dir, 'job.after'))).rejects.toThrow(/ENOENT/);

    const result = await runCli([job]);
    expect(result.code).toBe(1);
    expect(await exists(join(dir, 'store', 'data'))).toBe(false);
    const [record] = await history(dir);
    expect(record!.status).toBe('failure');
    expect(record!.sources).toEqual([]);
    expect(record!.error).toBe('before command "echo "mount /mnt/backup failed" >&2; exit 32" exited 32: mount /mnt/backup failed');
    expect((await readFile(join(dir, 'job.error'), 'utf8')).trim()).toBe(`failure||${record!.error}`);
    await expect(readFile(join(dir, 'job.after'))).resolves.toBeDefined();
  });
});
