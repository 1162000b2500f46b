import { execFileSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceCommon } from '../../src/config/common.js';
import { loadJobText } from '../../src/config/load.js';
import { pluginSchema } from '../../src/config/validate.js';
import { BackupError, ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { Redactor } from '../../src/secrets.js';
import { mysqlSource } from '../../src/sources/mysql/index.js';
import { mysqldumpArgv, mysqlOptionFile, planMysqldump } from '../../src/sources/sql/mysql-dump.js';
import { mysqlDumpProblems } from '../../src/sources/sql/mysql-schema.js';
import { mysqlDatabaseRenamer } from '../../src/sources/sql/mysql-restore.js';
import { splitShellWords } from '../../src/lib/shell-words.js';
import type { Source } from '../../src/sources/types.js';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { gpgDecrypt, makeGpgHome } from '../support/gpg.js';
import { collectArtifacts, describeMysqlDatabase, MYSQL_HOST, mysqlRoot, readAll, sourceContext, suffix } from '../support/sql.js';
import { makeTempDir } from '../support/tmp.js';
import { createContext, makeSourceFrom, writeScript } from '../support/plugins.js';

const PASSPHRASE = 'correct horse battery staple 9c1e';
const makeSource = (options: Record<string, unknown>): Promise<Source> => makeSourceFrom(mysqlSource, options);
const script = writeScript;

describe('mysql options and argv', () => {
  it('splits options like a shell, without a shell', () => {
    expect(splitShellWords(`--where="id > 5" --ignore-table='shop.big log' a\\ b  $HOME`)).toEqual(['--where=id > 5', '--ignore-table=shop.big log', 'a b', '$HOME']);
    expect(() => splitShellWords('--where="x')).toThrow(/unbalanced/);
  });

  it('puts --defaults-file first, --single-transaction and -R --events by default, and names the databases last', () => {
    const argv = mysqldumpArgv('/tmp/x/creds', { dbhost: 'db1', port: 3307 }, { dbname: ['shop', 'crm'] });
    expect(argv).toEqual([
      '--defaults-file=/tmp/x/creds',
      '--host=db1',
      '--port=3307',
      '--single-transaction',
      '--routines',
      '--events',
      '--databases',
      '--',
      'shop',
      'crm',
    ]);
  });

  it('lets options choose locking, drops --events with noevents, and ignores dbname with --all-databases', () => {
    for (const options of ['--lock-tables', '-x', '--skip-single-transaction', '--lock-all-tables', '--single-transaction']) {
      expect(planMysqldump({}, { dbname: ['a'], options }).args.filter((a) => a === '--single-transaction').length).toBe(options === '--single-transaction' ? 1 : 0);
    }
    expect(planMysqldump({}, { dbname: ['a'], options: '--skip-lock-tables' }).args).toContain('--single-transaction');
    const plan = planMysqldump({}, { dbname: ['a'], options: '--all-databases --skip-triggers', noevents: true });
    expect(plan.args).toEqual(['--single-transaction', '--routines', '--all-databases', '--skip-triggers']);
    expect(plan.allDatabases).toBe(true);
  });

  it('writes credentials as a quoted option file', () => {
    expect(mysqlOptionFile({ dbuser: 'backups', dbpass: 'a"b\\c#d' })).toBe('[client]\nuser="backups"\npassword="a\\"b\\\\c#d"\n');
  });

  it('rejects options that would leak the password or divert the dump', () => {
    const problems = (options: string) => mysqlDumpProblems({ dbname: ['a'], options }).map((p) => `${p.key}: ${p.message}`);
    expect(problems('-psecret')).toEqual([expect.stringMatching(/^options: no password/)]);
    expect(problems('--password=secret')).toEqual([expect.stringMatching(/^options: no password/)]);
    expect(problems('--result-file=/tmp/x.sql')[0]).toMatch(/writes the dump to files/);
    expect(problems('--defaults-file=/x')[0]).toMatch(/"defaults" key/);
    expect(problems("--where='x")[0]).toMatch(/unbalanced/);
    expect(mysqlDumpProblems({ options: '--skip-triggers' })).toEqual([{ key: 'dbname', message: expect.stringMatching(/required/) }]);
    expect(mysqlDumpProblems({ options: '--all-databases' })).toEqual([]);
  });

  it('renames the database statements of a --databases dump, whatever the chunk boundaries', async () => {
    const dump = [
      '-- Current Database: `shop`',
      'CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;',
      'USE `shop`;',
      "INSERT INTO `t` VALUES (1,'USE `shop`;');",
      'ALTER DATABASE `shop` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;;',
      '',
    ].join('\n');
    const bytes = Buffer.from(dump);
    const oneByteChunks = Readable.from((function* () { for (const b of bytes) yield Buffer.from([b]); })());
    const out = (await readAll(oneByteChunks.pipe(mysqlDatabaseRenamer('copy`1', 'db')))).toString();
    expect(out).toBe(dump.replace('IF NOT EXISTS*/ `shop`', 'IF NOT EXISTS*/ `copy``1`').replace('USE `shop`;\n', 'USE `copy``1`;\n').replace('ALTER DATABASE `shop`', 'ALTER DATABASE `copy``1`'));
    const two = Readable.from([Buffer.from('USE `a`;\nSELECT 1;\nUSE `b`;\n')]).pipe(mysqlDatabaseRenamer('x', 'db'));
    await expect(readAll(two)).rejects.toThrow(/more than one database \(a, then b\)/);
  });

  const job = (source: Record<string, unknown>) =>
    JSON.stringify({
      hostname: 'h',
      tmpdir: '/tmp',
      state_dir: '/tmp/state',
      sources: [{ id: 'config', type: 'folder', path: '/etc', passphrase: 'test-passphrase' }, source],
      destinations: [{ id: 'disk', type: 'local', path: '/tmp' }],
    });
  const load = (source: Record<string, unknown>) => loadJobText(job(source), { env: {}, redactor: new Redactor() }, '/tmp/job.json');
  const problemPaths = (source: Record<string, unknown>) => {
    try {
      load(source);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
      throw error;
    }
    return [];
  };

  it('requires dbhost unless a defaults file is given, and accepts the original keys', () => {
    expect(problemPaths({ id: 'db', type: 'mysql', name: 'Live server database', dbname: 'live', passphrase: 'test-passphrase' })).toEqual([expect.stringMatching(/^sources\[1\]\.dbhost: required/)]);
    expect(problemPaths({ id: 'db', type: 'mysql', dbhost: 'h', passphrase: 'test-passphrase' })).toEqual([expect.stringMatching(/^sources\[1\]\.dbname: required/)]);
    expect(load({ id: 'db', type: 'mysql', defaults: '/etc/backups/my.cnf', dbname: 'live', passphrase: 'test-passphrase' }).sources).toHaveLength(2);
    const loaded = load({ id: 'db', type: 'mysql', dbhost: 'localhost', dbname: 'a b', dbuser: 'u', dbpass: 'x', noevents: 1, options: '--skip-triggers', passphrase: 'test-passphrase' });
    expect(loaded.sources[1]!.options).toMatchObject({ dbname: ['a', 'b'], noevents: true, dbpass: 'x' });
  });

  // The Complete Example's mysql entry (no dbhost, and a folder's "path" key): the missing dbhost
  // is named; "path", unknown to mysql, is ignored with a warning as the original ignored it.
  it("names sources[N].dbhost for the original README's Complete Example entry", () => {
    const problems = problemPaths({ id: 'db', type: 'mysql', name: 'Live server database', path: '/data', passphrase: 'youllneverguesswhat' });
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^sources\[1\]\.dbhost: required/)]));
    expect(problems.join('\n')).not.toMatch(/\.path:/);
  });
});

describeWith(['mariadb', 'mariadb-dump', 'gpg', 'zstd'], 'mysql source against MariaDB', () => {
  const tag = suffix();
  const sourceDb = `br_src_${tag}`;
  const user = `br_u_${tag}`;
  // Characters an option file treats specially: # starts a comment, quotes and backslashes.
  const password = `p#ss"w\\ord' ;x${tag}`;
  const databases: string[] = [sourceDb];
  const dirs: { remove: () => Promise<void> }[] = [];
  const tempDir = async () => {
    const dir = await makeTempDir('br-mysql-');
    dirs.push(dir);
    return dir.path;
  };
  const conn = () => ({ dbhost: MYSQL_HOST, dbuser: user, dbpass: password });
  const binaryHex = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('hex');

  beforeAll(async () => {
    const sqlPassword = password.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
    await mysqlRoot(`
      CREATE DATABASE \`${sourceDb}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
      USE \`${sourceDb}\`;
      CREATE TABLE customers (
        id INT AUTO_INCREMENT PRIMARY KEY,
        name VARCHAR(100) NOT NULL,
        note TEXT NULL,
        balance DECIMAL(12,2) NOT NULL DEFAULT 0,
        created DATETIME(3) NULL,
        data VARBINARY(300) NULL,
        doc JSON NULL,
        KEY idx_name (name)
      ) ENGINE=InnoDB;
      CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, action VARCHAR(20) NOT NULL, at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
      CREATE TABLE blobs (id INT PRIMARY KEY, payload LONGBLOB NULL) ENGINE=InnoDB;
      CREATE TRIGGER customers_ai AFTER INSERT ON customers FOR EACH ROW INSERT INTO audit (customer_id, action) VALUES (NEW.id, 'insert');
      INSERT INTO customers (name, note, balance, created, data, doc) VALUES
        ('Zoë 🦊 日本語 — "double" ''single'' back\\\\slash', 'line1\\nline2\\ttab\\r\\0nul', 1234.50, '2024-02-29 23:59:59.123', UNHEX('${binaryHex}'), '{"a": [1, 2, null], "ü": "✓"}'),
        ('no extras', NULL, 0, NULL, NULL, NULL),
        ('', '', -0.01, '1970-01-01 00:00:01.000', UNHEX(''), 'null');
      INSERT INTO blobs VALUES (1, UNHEX(REPEAT('${binaryHex}', 4096))), (2, NULL), (3, UNHEX('00'));
      CREATE VIEW rich_customers AS SELECT id, name, balance FROM customers WHERE balance > 100;
      DELIMITER ;;
      CREATE PROCEDURE add_customer(IN p_name VARCHAR(100), OUT p_id INT)
      BEGIN
        INSERT INTO customers (name) VALUES (p_name);
        SET p_id = LAST_INSERT_ID();
      END;;
      CREATE FUNCTION greet(p VARCHAR(50)) RETURNS VARCHAR(60) DETERMINISTIC RETURN CONCAT('hi ', p);;
      DELIMITER ;
      CREATE EVENT purge_audit ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit WHERE at < NOW() - INTERVAL 30 DAY;
      CREATE USER '${user}'@'%' IDENTIFIED BY '${sqlPassword}';
      CREATE USER '${user}'@'localhost' IDENTIFIED BY '${sqlPassword}';
      GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES, EVENT ON \`${sourceDb}\`.* TO '${user}'@'%', '${user}'@'localhost';
      GRANT SELECT ON mysql.proc TO '${user}'@'%', '${user}'@'localhost';
    `);
  });

  afterAll(async () => {
    const drops = databases.map((db) => `DROP DATABASE IF EXISTS \`${db}\`;`).join('\n');
    await mysqlRoot(`${drops}\nDROP USER IF EXISTS '${user}'@'%', '${user}'@'localhost';`);
    await Promise.all(dirs.map((d) => d.remove()));
  });

  it('end to end: `backup run` stores it encrypted (gpg reads it), `backup restore --to-database` rebuilds it identically', async () => {
    const dir = await tempDir();
    const gpgHome = await makeGpgHome(false);
    try {
      const base = {
        hostname: 'h',
        tmpdir: join(dir, 'tmp'),
        state_dir: join(dir, 'state'),
        destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
        notifications: [],
      };
      const source = { id: 'db', type: 'mysql', name: 'Live Company Data', dbhost: MYSQL_HOST, dbname: sourceDb, passphrase: PASSPHRASE };
      // The backup user's password comes from the environment, as a job file would keep it out of itself.
      const job = join(dir, 'job.json');
      await writeFile(job, JSON.stringify({ ...base, sources: [{ ...source, dbuser: user, dbpass: '${BR_TEST_DBPASS}' }] }));
      const run = await runCli(['run', job], { env: { BR_TEST_DBPASS: password } });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout + run.stderr).not.toContain(password);

      const stored = (await readdir(join(dir, 'store', 'db'), { recursive: true })).filter((f) => f.endsWith('.gpg'));
      expect(stored).toEqual([expect.stringMatching(/^\d{14}(?:-\d+)?\/db\.sql\.zst\.gpg$/)]);
      const sql = execFileSync('zstd', ['-d', '-c'], { input: await gpgDecrypt(join(dir, 'store', 'db', stored[0]!), gpgHome, PASSPHRASE), maxBuffer: 1 << 30 });
      expect(sql.toString('latin1')).toContain('CREATE TABLE `customers`');

      // Restoring needs CREATE privileges: the same source id, as root (a restore host's job file).
      const restoreJob = join(dir, 'restore-job.json');
      await writeFile(restoreJob, JSON.stringify({ ...base, sources: [{ ...source, dbuser: 'root' }] }));
      const target = `br_e2e_${tag}`;
      databases.push(target);
      const restore = await runCli(['restore', restoreJob, '--source', 'db', '--to-database', target]);
      expect(restore.code, restore.stderr).toBe(0);
      expect(await describeMysqlDatabase(target)).toEqual(await describeMysqlDatabase(sourceDb));

      const again = await runCli(['restore', restoreJob, '--source', 'db', '--to-database', target]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(new RegExp(`database ${target} already exists and holds \\d+ table`));
      expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    } finally {
      await gpgHome.remove();
    }
  });

  it('end to end: a wrong password fails the run with exit 1 and a clear message, and the password appears nowhere', async () => {
    const dir = await tempDir();
    const wrong = `Wr0ng-e2e-${tag}`;
    const job = join(dir, 'job.json');
    await writeFile(
      job,
      JSON.stringify({
        hostname: 'h',
        tmpdir: join(dir, 'tmp'),
        state_dir: join(dir, 'state'),
        sources: [{ id: 'db', type: 'mysql', dbhost: MYSQL_HOST, dbname: sourceDb, dbuser: user, dbpass: wrong, passphrase: PASSPHRASE }],
        destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
        notifications: [],
      }),
    );
    const run = await runCli(['run', job]);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(new RegExp(`access denied for ${user}@127\\.0\\.0\\.1`));
    expect(run.stdout + run.stderr).not.toContain(wrong);
    expect(await readdir(join(dir, 'store', 'db'), { recursive: true }).catch(() => [])).not.toContainEqual(expect.stringMatching(/\.gpg$/));
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('dumps as a least-privilege user and restores into a fresh database: same schema, same rows', async () => {
    const tmp = await tempDir();
    const ctx = sourceContext(tmp);
    const source = await makeSource({ ...conn(), dbname: sourceDb });
    await source.check!(ctx);
    const artifacts = await collectArtifacts(source.open(ctx));
    expect(artifacts.map((a) => [a.name, a.error])).toEqual([['db.sql', undefined]]);
    // The credentials file is gone as soon as the dump finished, before cleanup().
    expect(await readdir(tmp)).toEqual([]);
    const sql = artifacts[0]!.data;
    expect(sql.toString('latin1')).toMatch(/CREATE TRIGGER|customers_ai/);
    expect(sql.toString('latin1')).toMatch(/PROCEDURE `add_customer`/);
    expect(sql.toString('latin1')).toMatch(/EVENT `purge_audit`/);
    expect(sql.includes(Buffer.from(password))).toBe(false);
    await source.cleanup!(ctx);

    const target = `br_dst_${tag}`;
    databases.push(target);
    const rootSource = await makeSource({ dbhost: MYSQL_HOST, dbuser: 'root', dbname: sourceDb });
    await rootSource.restoreInto!(Readable.from([sql]), { database: target, force: false, artifactName: 'db.sql' }, ctx);
    expect(await readdir(tmp)).toEqual([]);

    const original = await describeMysqlDatabase(sourceDb);
    const restored = await describeMysqlDatabase(target);
    expect(original['rows:customers']).toContain('Zoë 🦊');
    expect(original['rows:customers']).toContain('NULL');
    expect(original.routines).toContain('add_customer');
    expect(original.triggers).toContain('customers_ai');
    expect(original.events).toContain('purge_audit');
    expect(original.views).toContain('rich_customers');
    expect(restored).toEqual(original);
    expect(await mysqlRoot(`SELECT HEX(data) FROM customers WHERE id = 1;`, target)).toBe(`${binaryHex.toUpperCase()}\n`);
    expect(await mysqlRoot(`SELECT LENGTH(payload), MD5(payload) FROM blobs WHERE id = 1;`, target)).toBe(await mysqlRoot(`SELECT LENGTH(payload), MD5(payload) FROM blobs WHERE id = 1;`, sourceDb));
    // The restored routines work in their new database.
    expect(await mysqlRoot(`SELECT greet('x');`, target)).toBe('hi x\n');
  });

  it('restores a --databases dump under a new name without touching the original name', async () => {
    const tmp = await tempDir();
    const ctx = sourceContext(tmp);
    const small = `br_small_${tag}`;
    const copy = `br_copy_${tag}`;
    databases.push(small, copy);
    await mysqlRoot(`CREATE DATABASE \`${small}\`; CREATE TABLE \`${small}\`.t (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO \`${small}\`.t VALUES (1, 'one'), (2, NULL);`);
    const source = await makeSource({ dbhost: MYSQL_HOST, dbuser: 'root', dbname: small });
    const [artifact] = await collectArtifacts(source.open(ctx));
    expect(artifact!.error).toBeUndefined();
    expect(artifact!.data.toString()).toContain(`USE \`${small}\`;`);
    await mysqlRoot(`DROP DATABASE \`${small}\`;`);
    await source.restoreInto!(Readable.from([artifact!.data]), { database: copy, force: false, artifactName: 'db.sql' }, ctx);
    expect(await mysqlRoot(`SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${small}';`)).toBe('0\n');
    expect(await mysqlRoot('SELECT * FROM t ORDER BY id;', copy)).toBe('1\tone\n2\tNULL\n');
  });

  it('refuses to load into a database that has tables unless forced, and refuses multi-database sources', async () => {
    const tmp = await tempDir();
    const ctx = sourceContext(tmp);
    const busy = `br_busy_${tag}`;
    databases.push(busy);
    await mysqlRoot(`CREATE DATABASE \`${busy}\`; CREATE TABLE \`${busy}\`.keep (id INT);`);
    const source = await makeSource({ dbhost: MYSQL_HOST, dbuser: 'root', dbname: sourceDb });
    const dump = Buffer.from('CREATE TABLE extra (id INT);\n');
    await expect(source.restoreInto!(Readable.from([dump]), { database: busy, force: false, artifactName: 'db.sql' }, ctx)).rejects.toThrow(
      new RegExp(`database ${busy} already exists and holds 1 table.*--force`),
    );
    expect(await mysqlRoot(`SHOW TABLES FROM \`${busy}\`;`)).toBe('keep\n');
    await source.restoreInto!(Readable.from([dump]), { database: busy, force: true, artifactName: 'db.sql' }, ctx);
    expect(await mysqlRoot(`SHOW TABLES FROM \`${busy}\`;`)).toBe('extra\nkeep\n');

    const multi = await makeSource({ dbhost: MYSQL_HOST, dbuser: 'root', dbname: `${sourceDb} ${busy}` });
    await expect(multi.restoreInto!(Readable.from([dump]), { database: `br_never_${tag}`, force: false, artifactName: 'db.sql' }, ctx)).rejects.toThrow(/2 databases into one file/);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('fails with a clear message on a wrong password, which appears nowhere: not in the error, not in argv', async () => {
    const tmp = await tempDir();
    const logs = await tempDir();
    const ctx = sourceContext(tmp);
    const wrong = `Wr0ng#${tag}`;
    const wrapper = await script(
      logs,
      'dump-wrapper',
      `printf '%s\\n' "$@" > ${logs}/argv.txt\nstat -c %a "\${1#--defaults-file=}" > ${logs}/mode.txt\nexec mariadb-dump "$@"`,
    );
    const source = await makeSource({ dbhost: MYSQL_HOST, dbuser: user, dbpass: wrong, dbname: sourceDb, dump_command: wrapper });
    const [artifact] = await collectArtifacts(source.open(ctx));
    const error = artifact!.error as BackupError;
    expect(error).toBeInstanceOf(BackupError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(new RegExp(`access denied for ${user}@127.0.0.1: wrong dbuser/dbpass`));
    const everything = `${error.message}\n${error.describe()}\n${error.stderrTail}\n${String(error.stack)}`;
    expect(everything).not.toContain(wrong);
    const argv = await readFile(join(logs, 'argv.txt'), 'utf8');
    expect(argv.split('\n')[0]).toMatch(new RegExp(`^--defaults-file=${tmp}/`));
    expect(argv).not.toContain(wrong);
    expect(await readFile(join(logs, 'mode.txt'), 'utf8')).toBe('600\n');
    expect(await readdir(tmp)).toEqual([]);
    await expect(source.check!(ctx)).rejects.toThrow(/access denied/);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('uses an existing defaults file instead of a temporary one (dbuser/dbpass then ignored, as the original)', async () => {
    const tmp = await tempDir();
    const conf = await tempDir();
    const ctx = sourceContext(tmp);
    const defaults = join(conf, 'my.cnf');
    await writeFile(defaults, `[client]\nuser=${user}\npassword="${password.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\n`, { mode: 0o600 });
    const logs = await tempDir();
    const wrapper = await script(logs, 'dump-wrapper', `printf '%s\\n' "$@" > ${logs}/argv.txt\nexec mariadb-dump "$@"`);
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (msg: string) => warnings.push(msg) } as unknown as typeof silentLogger;
    const schema = pluginSchema(SourceCommon, mysqlSource);
    const parsed = schema.parse({ id: 'db', type: 'mysql', defaults, dbhost: MYSQL_HOST, dbuser: 'nobody', dbpass: 'ignored', dbname: sourceDb, dump_command: wrapper });
    const source = (await mysqlSource.create(parsed as never, { ...createContext, logger })) as Source;
    expect(warnings).toEqual([expect.stringMatching(/dbuser and dbpass ignored: "defaults"/)]);
    const [artifact] = await collectArtifacts(source.open(ctx));
    expect(artifact!.error).toBeUndefined();
    expect(artifact!.data.toString('latin1')).toContain('CREATE TABLE `customers`');
    expect((await readFile(join(logs, 'argv.txt'), 'utf8')).split('\n')[0]).toBe(`--defaults-file=${defaults}`);
    expect(await readdir(tmp)).toEqual([]);
    expect(await readFile(defaults, 'utf8')).toContain('[client]');
  });

  it('fails the artifact when the dumper exits 2 or is killed after writing part of the dump', async () => {
    const tmp = await tempDir();
    const bin = await tempDir();
    const ctx = sourceContext(tmp);
    const partial = "-- MariaDB dump\nCREATE TABLE t (id INT);\nINSERT INTO t VALUES (1),(2);\n";
    const exits2 = await script(bin, 'exit2', `printf -- '${partial.replace(/\n/g, '\\n')}'\necho 'mysqldump: Error 2013: Lost connection to server during query' >&2\nexit 2`);
    const killed = await script(bin, 'killed', `printf -- '${partial.replace(/\n/g, '\\n')}'\nkill -9 $$`);
    for (const [command, expected] of [
      [exits2, /exited 2/],
      [killed, /killed by SIGKILL/],
    ] as const) {
      const source = await makeSource({ ...conn(), dbname: sourceDb, dump_command: command });
      const [artifact] = await collectArtifacts(source.open(ctx));
      expect(artifact!.data.toString()).toBe(partial);
      expect(artifact!.error).toBeInstanceOf(BackupError);
      expect((artifact!.error as Error).message).toMatch(expected);
      expect(await readdir(tmp)).toEqual([]);
      await source.cleanup!(ctx);
    }
  });

  it('removes the credentials file when the run is abandoned mid-way', async () => {
    const tmp = await tempDir();
    const bin = await tempDir();
    const controller = new AbortController();
    const ctx = sourceContext(tmp, controller.signal);
    const slow = await script(bin, 'slow', "printf -- '-- dump\\n'\nexec sleep 30");
    const source = await makeSource({ ...conn(), dbname: sourceDb, dump_command: slow });
    const iterator = source.open(ctx)[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect((await readdir(tmp)).length).toBe(1);
    controller.abort();
    first.value!.stream.resume();
    await expect(first.value!.done).rejects.toThrow();
    await source.cleanup!(ctx);
    expect(await readdir(tmp)).toEqual([]);
  });
});
