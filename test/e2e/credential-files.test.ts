/**
 * Credentials files (the MySQL `--defaults-file`, the PostgreSQL pgpass) exist only while their
 * dumper runs: SIGTERM removes them; what `kill -9` leaves is swept by the next run. The dumpers
 * here are small scripts that record the credentials file they were given and then wait, as a
 * real dumper does while it waits on a lock.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../support/cli.js';
import { writeJob } from '../support/jobs.js';
import { writeScript } from '../support/plugins.js';
import { makeTempDir } from '../support/tmp.js';

const PASSWORD = 'credential-file-secret-4711';

interface Kind {
  type: 'mysql' | 'pgsql';
  /** Shell that prints the credentials file's path the dumper was given. */
  credentialPath: string;
}

const KINDS: Kind[] = [
  { type: 'mysql', credentialPath: 'echo "${1#--defaults-file=}"' },
  { type: 'pgsql', credentialPath: 'echo "$PGPASSFILE"' },
];

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(KINDS)('$type credentials file', (kind) => {
  let tmp: { path: string; remove: () => Promise<void> };
  let job: string;
  let marker: string;

  beforeAll(async () => {
    tmp = await makeTempDir();
    marker = join(tmp.path, 'credentials-path');
    // Records the credentials file, proves it holds the password, then waits to be stopped;
    // with FINISH set it writes a small dump and exits 0 instead.
    const dumper = await writeScript(
      tmp.path,
      `fake-${kind.type}-dump`,
      `f=$(${kind.credentialPath})\ngrep -q '${PASSWORD}' "$f" || exit 9\n[ -n "$FINISH" ] && { echo "-- dump"; exit 0; }\necho $$ > ${marker}.pid\necho "$f" > ${marker}.tmp && mv ${marker}.tmp ${marker}\nexec sleep 60`,
    );
    await mkdir(join(tmp.path, 'store'));
    job = await writeJob(tmp.path, {
      sources: [{ id: 'db', type: kind.type, dbhost: '127.0.0.1', dbuser: 'backup', dbpass: PASSWORD, dbname: 'shop', dump_command: dumper, passphrase: 'credential files test' }],
      destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store') }],
    });
  });
  afterAll(() => tmp?.remove());

  async function startAndWaitForDumper(): Promise<{ runner: ReturnType<typeof spawn>; exited: Promise<number | null>; credentials: string }> {
    await rm(marker, { force: true });
    const runner = spawn(process.execPath, [BIN, job], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    runner.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => runner.on('close', (code) => resolve(code)));
    const credentials = await waitFor(async () => {
      if (runner.exitCode !== null) throw new Error(`the run ended before its dumper started: ${stderr}`);
      return existsSync(marker) ? (await readFile(marker, 'utf8')).trim() : undefined;
    }, 'the dumper');
    return { runner, exited, credentials };
  }

  it('SIGTERM removes it with the run\'s temporary folder', async () => {
    const { runner, exited, credentials } = await startAndWaitForDumper();
    expect(existsSync(credentials)).toBe(true);
    runner.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(existsSync(credentials)).toBe(false);
    expect(await readdir(join(tmp.path, 'tmp'))).toEqual([]);
  });

  it('kill -9 leaves it; the next run sweeps it and says so', async () => {
    const { runner, exited, credentials } = await startAndWaitForDumper();
    runner.kill('SIGKILL');
    await exited;
    // The orphaned dumper (the runner can no longer stop it) goes too; its file stays.
    process.kill(Number(await readFile(`${marker}.pid`, 'utf8')), 'SIGKILL');
    expect(existsSync(credentials)).toBe(true);
    const next = await runCli(['-v', job], { env: { FINISH: '1' } });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/swept \d+ leftover\(s\).*credential file/);
    expect(existsSync(credentials)).toBe(false);
    expect(await readdir(join(tmp.path, 'tmp'))).toEqual([]);
  });
});
