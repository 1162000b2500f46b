/**
 * Fault injection between artifacts: a pgsql source with two databases (`dbname: [a, b]`) and a
 * mysql source with two, on the machine's PostgreSQL and MariaDB. The test holds a table lock in
 * `b`, so the real pg_dump / mariadb-dump of `b` blocks while `a` is already stored; the fault
 * lands exactly there. Covers issue 10 failure 2 (a same-day run under `{hostname}/{date}/{file}`
 * must not overwrite the good run), failure 3 (a run cut between artifacts is never whole) and
 * failure 6 (the pgpass file of a runner killed with -9 is swept by the next run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { checkAfterFault, credentialFiles, exitWithin, keptCopies, freeze, leftovers, listRuns, mountTmpfs, newestFirst, nextRunSweeps, startCli, thaw, waitFor, waitForChild, stopLeftoverRunners, type RunningCli } from '../support/faults.js';
import { writeJob } from '../support/jobs.js';
import { MYSQL_HOST, PG_HOST, PG_PORT, mysqlRoot, psqlAs, suffix } from '../support/sql.js';
import { makeTempDir } from '../support/tmp.js';

const PASSPHRASE = 'fault injection databases 3e9a';
// Trust auth accepts any password; giving one makes the runner write a pgpass file to sweep.
const DB_PASSWORD = 'not-checked-but-secret-9d1f';

/** A client session that holds a lock until `release()`; resolves once the lock is granted. */
interface HeldLock {
  release(): Promise<void>;
}

async function holdLock(command: string, args: string[], lockSql: string): Promise<HeldLock> {
  const child: ChildProcess = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  child.stdin!.write(`${lockSql}\n`);
  await waitFor(`the lock (${command})`, () => {
    if (/ERROR/.test(out)) throw new Error(`${command}: ${out}`);
    return out.includes('LOCKED');
  });
  return {
    release: async () => {
      child.stdin!.end();
      await closed;
    },
  };
}

describeWith(['tar', 'zstd', 'gpg', 'psql', 'pg_dump', 'mariadb'], 'faults: between artifacts of a database source', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  const pgDatabases: string[] = [];
  const myDatabases: string[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('br-faults-db-');
  });
  // A test that failed half-way must not leave a runner (and its children) behind.
  afterEach(stopLeftoverRunners);
  afterAll(async () => {
    for (const db of pgDatabases) await psqlAs(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE);`).catch(() => undefined);
    for (const db of myDatabases) await mysqlRoot(`DROP DATABASE IF EXISTS \`${db}\`;`).catch(() => undefined);
    await tmp?.remove();
  });

  async function pgPair(): Promise<[string, string]> {
    const tag = suffix();
    const pair: [string, string] = [`br_fault_${tag}_a`, `br_fault_${tag}_b`];
    for (const db of pair) {
      pgDatabases.push(db);
      await psqlAs(`CREATE DATABASE "${db}";`);
      await psqlAs(`CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'generation 1');`, { database: db });
    }
    return pair;
  }

  const pgNewGeneration = (dbs: string[]) => Promise.all(dbs.map((db) => psqlAs(`INSERT INTO t VALUES (2, 'generation 2');`, { database: db })));

  const pgLock = (db: string) =>
    holdLock('psql', ['-X', '-q', '-h', PG_HOST, '-p', String(PG_PORT), '-U', 'postgres', '-d', db], `BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; \\echo LOCKED`);

  /** The restored files of a run (`--to DIR` without --extract: the plain dumps), by name. */
  async function restoredFiles(dir: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const name of (await readdir(dir)).sort()) out[name] = await readFile(join(dir, name), 'utf8');
    return out;
  }

  interface DbScenario {
    name: string;
    keyTemplate?: string;
    /** Delivered once the dump of `b` is blocked on the test's lock (`a` is stored). */
    fault: (runner: RunningCli, dumper: number) => void;
    runnerSurvives: boolean;
  }

  async function pgScenario(s: DbScenario): Promise<{ store: string; job: string }> {
    const dir = join(tmp.path, s.name);
    await mkdir(dir);
    const store = join(dir, 'store');
    const tmpdir = join(dir, 'tmp');
    const [a, b] = await pgPair();
    const job = await writeJob(dir, {
      ...(s.keyTemplate ? { key_template: s.keyTemplate } : {}),
      sources: [{ id: 'db', type: 'pgsql', dbhost: PG_HOST, port: PG_PORT, dbuser: 'postgres', dbpass: DB_PASSWORD, dbname: [a, b], passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: store, create: 1, retention_copies: 2 }],
    });

    const first = await runCli(['-v', job]);
    expect(first.code, first.stderr).toBe(0);
    const runOne = (await listRuns(job))[0]!.run;
    const backedUp = join(dir, 'run-one');
    const r1 = await runCli(['restore', job, '--source', 'db', '--to', backedUp]);
    expect(r1.code, r1.stderr).toBe(0);
    const runOneFiles = await restoredFiles(backedUp);
    expect(Object.keys(runOneFiles)).toEqual([`db.${a}.sql`, `db.${b}.sql`]);
    expect(runOneFiles[`db.${b}.sql`]).toContain('generation 1');

    await pgNewGeneration([a, b]);
    const lock = await pgLock(b);
    let ended;
    try {
      const runner = startCli(['-v', job]);
      const dumper = await waitForChild(runner, 'pg_dump', new RegExp(`dbname='${b}'`));
      s.fault(runner, dumper.pid);
      ended = await exitWithin(runner);
    } finally {
      // An orphaned pg_dump (runner killed) ends on a broken pipe once it can write.
      await lock.release();
    }
    if (s.runnerSurvives) {
      expect(ended.code, ended.stderr).toBe(1);
      expect(await leftovers(store, tmpdir)).toEqual([]);
    } else {
      expect(ended.signal).toBe('SIGKILL');
      // The crash left the pgpass file (the password in it) for the next run to sweep.
      expect(await credentialFiles(tmpdir)).toHaveLength(1);
    }
    expect(ended.stdout + ended.stderr).not.toContain(DB_PASSWORD);

    await checkAfterFault({
      job,
      source: 'db',
      whole: [runOne],
      restoreTo: join(dir, 'restored'),
      compareRestored: async (to) => expect(await restoredFiles(to)).toEqual(runOneFiles),
    });

    const next = await nextRunSweeps(job, [store, tmpdir]);
    expect(keptCopies(next.stdout), next.stdout).toBe(2);
    expect(await credentialFiles(tmpdir)).toEqual([]);
    const whole = newestFirst(await listRuns(job)).filter((r) => r.state === 'complete').map((r) => r.run);
    expect(whole).toHaveLength(2);
    expect(whole[1]).toBe(runOne);
    return { store, job };
  }

  it('failure 2: {hostname}/{date}/{file}, a same-day run killed (kill -9 pg_dump) during b keeps run 1 whole under its own key', async () => {
    const day = new Date().toISOString().slice(0, 10);
    const { store } = await pgScenario({ name: 'same-day-kill-pgdump', keyTemplate: '{hostname}/{date}/{file}', fault: (_r, pid) => process.kill(pid, 'SIGKILL'), runnerSurvives: true });
    // Runs 2 and 3 of the day got keys of their own; run 1's folder still holds run 1.
    if (new Date().toISOString().slice(0, 10) === day) {
      const folders = (await readdir(join(store, 'testhost'))).sort();
      expect(folders[0]).toBe(day);
      expect(folders).toContain(`${day}-2`);
    }
  }, 120_000);

  it('failure 2: {hostname}/{date}/{file}, a same-day run stopped by SIGTERM during b does not overwrite run 1', () =>
    pgScenario({ name: 'same-day-sigterm', keyTemplate: '{hostname}/{date}/{file}', fault: (r) => process.kill(r.pid, 'SIGTERM'), runnerSurvives: true }), 120_000);

  it('failure 3: SIGTERM between artifacts (a stored, b dumping) is never listed as legacy or complete', () =>
    pgScenario({ name: 'sigterm-between', fault: (r) => process.kill(r.pid, 'SIGTERM'), runnerSurvives: true }), 120_000);

  it('failures 3 and 6: kill -9 of the runner between artifacts; the next run sweeps its pgpass file and temp folder', async () => {
    await pgScenario({
      name: 'kill-runner-between',
      fault: (r) => process.kill(r.pid, 'SIGKILL'),
      runnerSurvives: false,
    });
  }, 120_000);

  // The mysql source dumps all its databases into one file: mariadb-dump blocks on b's table
  // after it wrote a, in the middle of the (only) artifact.
  it('kill -9 of mariadb-dump in the middle of a mysql dump', async () => {
    const dir = join(tmp.path, 'mysql');
    await mkdir(dir);
    const store = join(dir, 'store');
    const tmpdir = join(dir, 'tmp');
    const tag = suffix();
    const [a, b] = [`br_fault_${tag}_a`, `br_fault_${tag}_b`];
    for (const db of [a, b]) {
      myDatabases.push(db);
      await mysqlRoot(`CREATE DATABASE \`${db}\`; CREATE TABLE \`${db}\`.t (id int PRIMARY KEY, note text); INSERT INTO \`${db}\`.t VALUES (1, 'generation 1');`);
    }
    const job = await writeJob(dir, {
      sources: [{ id: 'shop', type: 'mysql', dbhost: MYSQL_HOST, dbuser: 'root', dbname: [a, b], passphrase: PASSPHRASE }],
      destinations: [{ id: 'disk', type: 'local', path: store, create: 1, retention_copies: 2 }],
    });
    const first = await runCli(['-v', job]);
    expect(first.code, first.stderr).toBe(0);
    const runOne = (await listRuns(job))[0]!.run;
    const r1 = await runCli(['restore', job, '--source', 'shop', '--to', join(dir, 'run-one')]);
    expect(r1.code, r1.stderr).toBe(0);
    const runOneFiles = await restoredFiles(join(dir, 'run-one'));
    expect(Object.keys(runOneFiles)).toEqual(['shop.sql']);

    for (const db of [a, b]) await mysqlRoot(`INSERT INTO \`${db}\`.t VALUES (2, 'generation 2');`);
    const lock = await holdLock('mariadb', ['-h', MYSQL_HOST, '-u', 'root', '--batch', '--unbuffered'], `LOCK TABLES \`${b}\`.t WRITE; SELECT 'LOCKED';`);
    let ended;
    try {
      const runner = startCli(['-v', job]);
      const dumper = await waitForChild(runner, /^(mariadb-dump|mysqldump)$/, new RegExp(b));
      freeze(runner.pid);
      process.kill(dumper.pid, 'SIGKILL');
      thaw(runner.pid);
      ended = await exitWithin(runner);
    } finally {
      await lock.release();
    }
    expect(ended.code, ended.stderr).toBe(1);
    expect(await leftovers(store, tmpdir)).toEqual([]);

    await checkAfterFault({
      job,
      source: 'shop',
      whole: [runOne],
      restoreTo: join(dir, 'restored'),
      compareRestored: async (to) => expect(await restoredFiles(to)).toEqual(runOneFiles),
    });
    const next = await nextRunSweeps(job, [store, tmpdir]);
    expect(keptCopies(next.stdout), next.stdout).toBe(2);
  }, 120_000);

  it('a full disk on one destination during b: the incomplete run there lists only a, the other holds the whole run', async () => {
    const dir = join(tmp.path, 'one-disk-full');
    await mkdir(dir);
    const [a, b] = await pgPair();
    // b's dump (random hex, about 1 MB plain, half that compressed) does not fit on the small disk; a's does.
    await psqlAs(`INSERT INTO t SELECT g + 10, (SELECT string_agg(md5(random()::text || g || h), '') FROM generate_series(1, 32) h) FROM generate_series(1, 1000) g;`, { database: b });
    const disk = await mountTmpfs(join(dir, 'small'), 256 * 1024);
    if (!disk) throw new Error('mount -t tmpfs refused: this test needs root and a kernel that allows tmpfs mounts');
    try {
      const job = await writeJob(dir, {
        sources: [{ id: 'db', type: 'pgsql', dbhost: PG_HOST, port: PG_PORT, dbuser: 'postgres', dbpass: DB_PASSWORD, dbname: [a, b], passphrase: PASSPHRASE }],
        destinations: [
          { id: 'big', type: 'local', path: join(dir, 'big'), create: 1 },
          { id: 'small', type: 'local', path: join(disk.path, 'store'), create: 1 },
        ],
      });
      const run = await runCli(['-v', job]);
      expect(run.code, run.stderr).toBe(1);
      const rows = await listRuns(job);
      const big = rows.find((r) => r.destination === 'big')!;
      const small = rows.find((r) => r.destination === 'small')!;
      expect(big, JSON.stringify(rows)).toMatchObject({ state: 'complete', files: 2 });
      expect(small, JSON.stringify(rows)).toMatchObject({ state: 'incomplete', files: 1 });
      // What the small destination's manifest promises is only what it holds.
      const manifestFile = (await readdir(join(disk.path, 'store', 'db', small.run))).find((f) => f.endsWith('.manifest.json'))!;
      const manifest = JSON.parse(await readFile(join(disk.path, 'store', 'db', small.run, manifestFile), 'utf8')) as { complete: boolean; files: { file: string }[] };
      expect(manifest.complete).toBe(false);
      expect(manifest.files.map((f) => f.file)).toEqual([`db.${a}.sql.zst.gpg`]);
    } finally {
      await disk.unmount();
    }
  }, 120_000);
});
