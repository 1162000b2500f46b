/**
 * mysql-ssh through the test sshd to the machine's MariaDB (127.0.0.1:3306, root without
 * password). Wrappers in front of the real mariadb-dump/mysqldump on the remote PATH log
 * their argv and the credentials file they were given, so the test sees that the password
 * never reached a command line and that the file was private and removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { mysqlSshSource } from '../../src/sources/mysql-ssh/index.js';
import type { Source, SourceContext } from '../../src/sources/types.js';
import { describeWith, findBinary } from '../support/binaries.js';
import { startSshd, type SshdServer } from '../support/sshd.js';
import { makeTempDir } from '../support/tmp.js';
import { dumpSource } from '../support/sql.js';
import { writeJob } from '../support/jobs.js';
import { runCli } from '../support/cli.js';

const job = { path: '/job.json', name: 'job', hostname: 'host' };
const suffix = randomBytes(4).toString('hex');
const DB = `brt_myssh_${suffix}`;
const USER = `brt_myssh_${suffix}`;
const PASSWORD = `p@ss w"o'rd\\1;$HOME-${suffix}`;

function sql(statement: string, database?: string): string {
  const args = ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '--batch', '--skip-column-names'];
  if (database) args.push(database);
  return execFileSync(findBinary('mariadb') ?? 'mysql', args, { input: statement }).toString();
}

const ROWS_SQL = 'SELECT id, name, HEX(data), price, created, note FROM items ORDER BY id';

describeWith(['sshd', 'ssh-keygen', 'mariadb-dump', 'mariadb'], 'mysql-ssh source', () => {
  let sshd: SshdServer;
  let work: { path: string; remove: () => Promise<void> };
  let log: string;
  let expectedRows: string;

  beforeAll(async () => {
    work = await makeTempDir();
    const bin = join(work.path, 'bin');
    mkdirSync(bin);
    log = join(work.path, 'argv.log');
    for (const name of ['mariadb-dump', 'mysqldump', 'mariadb', 'mysql']) {
      const real = findBinary(name);
      if (!real) continue;
      writeFileSync(
        join(bin, name),
        `#!/bin/sh
{ printf '%s' "${name}"; for a in "$@"; do printf '\\t%s' "$a"; done; echo; } >> ${log}
for a in "$@"; do case "$a" in --defaults-file=*) f="\${a#--defaults-file=}"; echo "defaults-file $f $(stat -c '%a %U' "$f")" >> ${log} ;; esac; done
exec ${real} "$@"
`,
        { mode: 0o755 },
      );
    }
    sshd = await startSshd({ pathPrepend: [bin] });

    sql(`DROP DATABASE IF EXISTS ${DB}; CREATE DATABASE ${DB} CHARACTER SET utf8mb4;`);
    sql(
      `CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100), data BLOB, price DECIMAL(10,2), created DATETIME, note TEXT);
       INSERT INTO items VALUES (1, 'plain', X'00FF10', 9.99, '2024-01-02 03:04:05', NULL),
         (2, 'quote '' and \\\\ backslash', X'', 0.00, '1999-12-31 23:59:59', 'line1\\nline2'),
         (3, 'ünïcødé ✓', NULL, -12.50, NULL, REPEAT('x', 5000));`,
      DB,
    );
    for (const host of ['localhost', '127.0.0.1']) {
      sql(`CREATE USER '${USER}'@'${host}' IDENTIFIED BY '${PASSWORD.replace(/\\/g, '\\\\').replace(/'/g, "''")}';
           GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES, EVENT ON ${DB}.* TO '${USER}'@'${host}';`);
    }
    expectedRows = sql(ROWS_SQL, DB);
  });

  afterAll(async () => {
    try {
      sql(`DROP DATABASE IF EXISTS ${DB}; DROP USER IF EXISTS '${USER}'@'localhost'; DROP USER IF EXISTS '${USER}'@'127.0.0.1';`);
    } finally {
      await sshd?.stop();
      await work?.remove();
    }
  });

  beforeEach(() => writeFileSync(log, ''));

  async function makeSource(extra: Record<string, unknown> = {}): Promise<Source> {
    const options = mysqlSshSource.options.parse({
      sshhost: sshd.host,
      sshport: sshd.port,
      sshuser: sshd.user,
      identity_file: sshd.identityFile,
      known_hosts: sshd.knownHostsFile,
      dbhost: '127.0.0.1',
      port: 3306,
      dbuser: USER,
      dbpass: PASSWORD,
      dbname: DB,
      ...extra,
    });
    return (await mysqlSshSource.create({ id: 'shop', type: 'mysql-ssh', ...options } as never, { job, logger: silentLogger })) as Source;
  }

  const context = (): SourceContext => ({ job, tmpdir: work.path, logger: silentLogger, signal: new AbortController().signal });

  const dumpAll = (source: Source) => dumpSource(source, context());


  const defaultsFiles = () =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('defaults-file '))
      .map((line) => line.split(' '));

  it('dumps on the remote host; the dump re-imports to the same rows; the password is in no argv', async () => {
    const [artifact, ...rest] = await dumpAll(await makeSource());
    expect(rest).toEqual([]);
    expect(artifact!.name).toBe('shop.sql');
    expect(artifact!.error).toBeUndefined();
    const dump = artifact!.data.toString();
    expect(dump).toContain('CREATE TABLE `items`');
    expect(dump).toMatch(/-- Dump completed/);

    const argvLog = readFileSync(log, 'utf8');
    expect(argvLog).toMatch(/^mariadb-dump\t--defaults-file=\S+\t--host=127\.0\.0\.1\t--port=3306\t--single-transaction\t--routines\t--events\t--databases\t--\tbrt_myssh_/m);
    expect(argvLog).not.toContain(PASSWORD);
    expect(argvLog).not.toContain('p@ss');
    // The credentials file was private while it existed, and is gone now.
    const files = defaultsFiles();
    expect(files).toHaveLength(1);
    expect(files[0]!.slice(2)).toEqual(['600', 'root']);
    expect(existsSync(files[0]![1]!)).toBe(false);

    // Restore: drop the database, load the dump (it recreates the database by name), compare row for row.
    sql(`DROP DATABASE ${DB};`);
    execFileSync(findBinary('mariadb') ?? 'mysql', ['-h', '127.0.0.1', '-u', 'root'], { input: artifact!.data });
    expect(sql(ROWS_SQL, DB)).toBe(expectedRows);
  });

  it('end to end: the runner dumps over SSH with the password from the environment; the restored file re-imports', async () => {
    const jobPath = join(work.path, 'mysql-ssh-job.json');
    await writeJob(work.path, {
        hostname: 'h',
        sources: [
          {
            id: 'shop',
            type: 'mysql-ssh',
            sshhost: sshd.host,
            sshport: sshd.port,
            identity_file: sshd.identityFile,
            known_hosts: sshd.knownHostsFile,
            dbhost: '127.0.0.1',
            dbuser: USER,
            dbpass: '${SHOP_DB_PASSWORD}',
            dbname: DB,
            passphrase: 'mysql-ssh-e2e-passphrase',
          },
        ],
        destinations: [{ id: 'disk', type: 'local', path: join(work.path, 'store'), create: 1 }],
        notifications: [],
      }, 'mysql-ssh-job.json');
    const run = await runCli(['run', '-v', jobPath], { env: { SHOP_DB_PASSWORD: PASSWORD } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr + run.stdout).not.toContain(PASSWORD);
    expect(readFileSync(log, 'utf8')).not.toContain('p@ss');
    const out = join(work.path, 'restored');
    const restore = await runCli(['restore', jobPath, '--source', 'shop', '--to', out], { env: { SHOP_DB_PASSWORD: PASSWORD } });
    expect(restore.code, restore.stderr).toBe(0);
    sql(`DROP DATABASE ${DB};`);
    execFileSync(findBinary('mariadb') ?? 'mysql', ['-h', '127.0.0.1', '-u', 'root'], { input: readFileSync(join(out, 'shop.sql')) });
    expect(sql(ROWS_SQL, DB)).toBe(expectedRows);
  }, 120_000);

  it('explains a wrong password, and removes the credentials file all the same', async () => {
    const [artifact] = await dumpAll(await makeSource({ dbpass: 'wrong-password-456' }));
    expect(artifact!.error).toBeInstanceOf(SourceError);
    const error = artifact!.error as SourceError;
    expect(error.message).toMatch(/mysqldump on .* exited 2: access denied for brt_myssh_\w+@127\.0\.0\.1:3306: wrong dbuser\/dbpass/);
    expect(error.describe()).not.toContain('wrong-password-456');
    const files = defaultsFiles();
    expect(files).toHaveLength(1);
    expect(existsSync(files[0]![1]!)).toBe(false);
  });

  it('rejects done when the remote dumper exits non-zero after writing output', async () => {
    const fake = join(work.path, 'half-dump');
    writeFileSync(fake, '#!/bin/sh\necho "-- MariaDB dump"\necho "INSERT INTO t VALUES (1);"\necho "mysqldump: Error 2013: Lost connection to server during query" >&2\nexit 2\n', { mode: 0o755 });
    const [artifact] = await dumpAll(await makeSource({ dump_command: fake }));
    expect(artifact!.data.toString()).toContain('INSERT INTO t');
    expect(artifact!.error).toBeInstanceOf(SourceError);
    expect((artifact!.error as SourceError).exitCode).toBe(2);
    expect((artifact!.error as SourceError).stderrTail).toContain('Lost connection');
  });

  it('check() finds the database through SSH and names a missing one', async () => {
    await (await makeSource()).check!(context());
    await expect((await makeSource({ dbname: `${DB} brt_no_such_db_${suffix}` })).check!(context())).rejects.toThrow(new RegExp(`database brt_no_such_db_${suffix} not found`));
    expect(readFileSync(log, 'utf8')).not.toContain(PASSWORD);
  });

  it('uses the remote defaults file when given, without sending credentials', async () => {
    const defaults = join(work.path, 'remote-my.cnf');
    writeFileSync(defaults, `[client]\nuser=${USER}\npassword="${PASSWORD.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\n`, { mode: 0o600 });
    const [artifact] = await dumpAll(await makeSource({ defaults, dbuser: undefined, dbpass: undefined }));
    expect(artifact!.error).toBeUndefined();
    expect(artifact!.data.toString()).toContain('CREATE TABLE `items`');
    expect(readFileSync(log, 'utf8')).toContain(`--defaults-file=${defaults}`);
  });
});
