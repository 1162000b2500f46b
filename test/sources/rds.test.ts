/**
 * `rds` and `rds-pgsql` against a local fake of the RDS Query API (test/support/fakes/rds.ts)
 * that restores "snapshots" to the machine's MariaDB / PostgreSQL, so the whole path runs for
 * real on the database side: restore, wait, dump, (encrypt, store through the CLI), delete.
 * The temporary instance must be deleted on every path: success, dump failure, wait timeout,
 * abort, SIGTERM to the CLI; and leftovers of a crashed run are removed by the next run.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { temporaryInstanceName } from '../../src/sources/aws/rds-instance.js';
import { rdsPgsqlSource } from '../../src/sources/rds-pgsql/index.js';
import { rdsSource } from '../../src/sources/rds/index.js';
import { describeWith } from '../support/binaries.js';
import { BIN, runCli } from '../support/cli.js';
import { capturingLogger, cloudContext, makeSource, problemsOf } from '../support/cloud-source.js';
import { FakeRds } from '../support/fakes/rds.js';
import { writeJob } from '../support/jobs.js';
import { collectArtifacts, describeMysqlDatabase, describePgDatabase, mysqlRoot, psqlAs, suffix } from '../support/sql.js';
import { makeTempDir } from '../support/tmp.js';
import { useRealClock, useVirtualClock } from '../support/virtual-clock.js';

// The in-process tests that wait (for the instance, between delete retries) run on a virtual clock.
vi.mock(import('node:timers/promises'), async (original) => (await import('../support/virtual-clock.js')).virtualTimers(await original()));

const CREDENTIALS = { aws_access_key_id: 'AKIAFAKERDS000000001', aws_secret_access_key: 'fake-secret-key-for-tests' };
const PASSPHRASE = 'rds test passphrase 9d1c';
const LIVE = 'livedb1';

function seed(fake: FakeRds): void {
  fake.addInstance({ id: LIVE });
  const day = 86_400_000;
  const now = Date.now();
  // The newest AVAILABLE automated snapshot wins; a newer manual one and a creating one do not.
  fake.addSnapshot({ id: 'rds:livedb1-old', instanceId: LIVE, createdAt: new Date(now - 3 * day) });
  fake.addSnapshot({ id: 'rds:livedb1-newest', instanceId: LIVE, createdAt: new Date(now - day) });
  fake.addSnapshot({ id: 'rds:livedb1-middle', instanceId: LIVE, createdAt: new Date(now - 2 * day) });
  fake.addSnapshot({ id: 'rds:livedb1-in-progress', instanceId: LIVE, createdAt: new Date(now - 1000), status: 'creating' });
  fake.addSnapshot({ id: 'manual-after', instanceId: LIVE, createdAt: new Date(now - 500), type: 'manual' });
  fake.addSnapshot({ id: 'rds:otherdb-newer', instanceId: 'otherdb', createdAt: new Date(now - 100) });
}

function rdsOptions(fake: FakeRds, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    instancename: LIVE,
    region: 'eu-west-1',
    endpoint_url: fake.url,
    credentials: CREDENTIALS,
    security_group: 'sg-0123456789abcdef0',
    poll_interval: 1,
    ...extra,
  };
}

describe('rds options', () => {
  it('names temporary instances validly and recognisably, within 63 characters', () => {
    const now = new Date(Date.UTC(2024, 4, 6, 7, 8, 9));
    expect(temporaryInstanceName('db', now)).toBe('backup-runner-tmp-db-20240506070809');
    const long = temporaryInstanceName('Shop_DB.main--replica.with.a.very.long.name.indeed', now);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^backup-runner-tmp-shop-db-main-replica-with-a-ve-20240506070809$/);
    for (const name of [long, temporaryInstanceName('-_-', now), temporaryInstanceName('x'.repeat(40) + '-y', now)]) {
      expect(name).toMatch(/^[a-z][a-z0-9-]{0,62}$/);
      expect(name).not.toMatch(/--|-$/);
    }
  });

  it('keeps every key of the original README, with the documented default instance class', () => {
    const original = {
      instancename: 'livedb1',
      region: 'eu-west-1',
      security_group: 'sg-xxxxxxxx',
      instance_class: 'db.t3.small',
      dbname: 'livecompany',
      dbuser: 'backups',
      dbpass: 'zzzuserwithreadonlyperms',
      noevents: 1,
      name: 'Live Company Data',
      passphrase: '64b0c7405f2d8051e2b9f02aa4898acc',
      credentials: { aws_access_key_id: 'YOURACCESSKEY', aws_secret_access_key: 'YOURSECRETKEY' },
    };
    expect(problemsOf(rdsSource, original)).toEqual([]);
    const { noevents: _, ...pg } = original;
    expect(problemsOf(rdsPgsqlSource, pg)).toEqual([]);
    expect(problemsOf(rdsSource, { instancename: 'x' })).toEqual([expect.stringMatching(/^dbname: required/)]);
    expect(problemsOf(rdsSource, { instancename: 'x', dbname: 'a', options: '-psecret' })).toEqual([expect.stringMatching(/^options: no password/)]);
    expect(problemsOf(rdsSource, { instancename: 'x', dbname: 'a', bogus: 1 })[0]).toMatch(/bogus/);
  });
});

describeWith(['mariadb', 'mariadb-dump', 'psql', 'pg_dump', 'gpg', 'zstd'], 'rds / rds-pgsql against a fake RDS and the local databases', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let fake: FakeRds;
  const db = `br_rds_${suffix()}`;
  const user = `br_rds_${suffix()}`;
  const userPassword = 'Rds-test-pass-1';
  const created: string[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('br-rds-');
    await mysqlRoot(`
      CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
      USE \`${db}\`;
      CREATE TABLE customers (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100) NOT NULL, balance DECIMAL(10,2), note TEXT NULL);
      INSERT INTO customers (name, balance, note) VALUES ('Ann', 120.50, 'first'), ('Bob', 0, NULL), ('Çelik ü', 99.99, 'tab\\there'), ('O''Brien', -5, 'quote');
      CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2), FOREIGN KEY (customer_id) REFERENCES customers (id));
      INSERT INTO orders VALUES (1, 1, 10.00), (2, 1, 20.00), (3, 3, 7.25);
      CREATE USER '${user}'@'%' IDENTIFIED BY '${userPassword}';
      CREATE USER '${user}'@'localhost' IDENTIFIED BY '${userPassword}';
      GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES, EVENT ON \`${db}\`.* TO '${user}'@'%', '${user}'@'localhost';
    `);
    created.push(db);
  });

  afterAll(async () => {
    const drops = created.map((d) => `DROP DATABASE IF EXISTS \`${d}\`;`).join('\n');
    await mysqlRoot(`${drops}\nDROP USER IF EXISTS '${user}'@'%', '${user}'@'localhost';`);
    await tmp?.remove();
  });

  afterEach(async () => {
    useRealClock();
    await fake?.close();
  });

  async function startFake(options: Partial<ConstructorParameters<typeof FakeRds>[0]> = {}): Promise<FakeRds> {
    fake = await new FakeRds({ endpoint: { address: '127.0.0.1', port: 3306 }, accessKeyId: CREDENTIALS.aws_access_key_id, pageSize: 2, ...options }).start();
    seed(fake);
    return fake;
  }

  async function workdir(name: string): Promise<string> {
    const dir = join(tmp.path, name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  it('restores the newest automated snapshot to a tagged temporary instance, dumps it, and deletes it', async () => {

    useVirtualClock();
    await startFake({ creatingPolls: 2 });
    const { logger, lines } = capturingLogger();
    const source = await makeSource(rdsSource, rdsOptions(fake, { dbname: db, dbuser: 'root', subnet_group: 'backup-subnets', wait_for_deletion: true }), logger);
    const ctx = cloudContext(await workdir('ok'), logger);
    let artifacts;
    try {
      artifacts = await collectArtifacts(source.open(ctx));
    } finally {
      await source.cleanup?.(ctx);
    }
    expect(artifacts.map((a) => a.name)).toEqual(['db.sql']);
    expect(artifacts[0]!.error).toBeUndefined();
    const dump = artifacts[0]!.data.toString('utf8');
    expect(dump).toContain(`CREATE DATABASE /*!32312 IF NOT EXISTS*/ \`${db}\``);
    expect(dump).toContain("'O\\'Brien'");

    const restores = fake.calls.filter((c) => c.startsWith('RestoreDBInstanceFromDBSnapshot '));
    expect(restores).toHaveLength(1);
    const name = restores[0]!.split(' ')[1]!;
    expect(name).toMatch(/^backup-runner-tmp-db-\d{14}$/);
    // Deleted with no final snapshot and no automated backups, and gone after the next describe.
    expect(fake.deletedNames()).toEqual([name]);
    expect(fake.temporaryInstances()).toEqual([]);
    const restoreCall = fake.calls.indexOf(restores[0]!);
    expect(fake.calls.slice(0, restoreCall).filter((c) => c === `DescribeDBSnapshots ${LIVE}`).length).toBe(2); // its 4 automated snapshots, in pages of 2
    expect(lines.join('\n')).toMatch(/restoring snapshot rds:livedb1-newest of livedb1/);
    expect(lines.join('\n')).toMatch(new RegExp(`temporary instance ${name} available at 127.0.0.1:3306`));
    // wait_for_deletion: described until RDS answers DBInstanceNotFound.
    expect(lines.join('\n')).toMatch(new RegExp(`temporary instance ${name} is deleted`));
    expect(fake.instances.has(name)).toBe(false);
  });

  it('sends the documented restore and delete parameters, and keeps the instance until its dump was read', async () => {

    useVirtualClock();
    await startFake({ creatingPolls: 0 });
    const source = await makeSource(rdsSource, rdsOptions(fake, { dbname: db, dbuser: 'root', security_group: ['sg-a', 'sg-b'], publicly_accessible: true, subnet_group: 'sn' }));
    const ctx = cloudContext(await workdir('params'), capturingLogger().logger);
    const statusWhileDumping: string[] = [];
    try {
      for await (const artifact of source.open(ctx)) {
        statusWhileDumping.push(...fake.temporaryInstances().map((i) => i.status));
        artifact.stream.resume();
        await artifact.done;
      }
    } finally {
      await source.cleanup?.(ctx);
    }
    expect(statusWhileDumping).toEqual(['available']);
    expect(fake.restoreRequests).toHaveLength(1);
    const restore = fake.restoreRequests[0]!;
    expect(restore).toMatchObject({
      Action: 'RestoreDBInstanceFromDBSnapshot',
      Version: '2014-10-31',
      DBSnapshotIdentifier: 'rds:livedb1-newest',
      DBInstanceClass: 'db.t3.small',
      'VpcSecurityGroupIds.VpcSecurityGroupId.1': 'sg-a',
      'VpcSecurityGroupIds.VpcSecurityGroupId.2': 'sg-b',
      DBSubnetGroupName: 'sn',
      PubliclyAccessible: 'true',
      MultiAZ: 'false',
      DeletionProtection: 'false',
      BackupRetentionPeriod: '0',
    });
    const tags = Object.fromEntries(
      Object.entries(restore)
        .filter(([k]) => /^Tags\.Tag\.\d+\.Key$/.test(k))
        .map(([k, v]) => [v, restore[k.replace(/Key$/, 'Value')]]),
    );
    expect(tags).toEqual({ 'backup-runner:temporary': 'true', 'backup-runner:source': 'db', 'backup-runner:host': 'host1', 'backup-runner:job': 'job' });
    expect(fake.deleteRequests).toEqual([
      expect.objectContaining({ Action: 'DeleteDBInstance', DBInstanceIdentifier: restore.DBInstanceIdentifier, SkipFinalSnapshot: 'true', DeleteAutomatedBackups: 'true' }),
    ]);
    expect(fake.temporaryInstances()).toEqual([]);
  });

  it('deletes the instance when the dump fails (a database that does not exist)', async () => {

    useVirtualClock();
    await startFake();
    const source = await makeSource(rdsSource, rdsOptions(fake, { dbname: 'no_such_db_here', dbuser: 'root' }));
    const ctx = cloudContext(await workdir('dumpfail'), capturingLogger().logger);
    let artifacts;
    try {
      artifacts = await collectArtifacts(source.open(ctx));
    } finally {
      await source.cleanup?.(ctx);
    }
    expect(artifacts[0]!.error).toBeInstanceOf(SourceError);
    expect(String((artifacts[0]!.error as Error).message)).toMatch(/exited 2/);
    expect(fake.deletedNames()).toHaveLength(1);
    expect(fake.temporaryInstances()).toEqual([]);
  });

  it('deletes the instance after a wait timeout, retrying while RDS refuses because it is still creating', async () => {

    useVirtualClock();
    await startFake({ stayCreating: true, refuseDeleteWhileCreating: 2 });
    const { logger, lines } = capturingLogger();
    const source = await makeSource(rdsSource, rdsOptions(fake, { dbname: db, dbuser: 'root', wait_timeout: 2, poll_interval: 1 }), logger);
    const ctx = cloudContext(await workdir('timeout'), logger);
    const started = Date.now();
    try {
      await expect(collectArtifacts(source.open(ctx))).rejects.toThrow(/gave up waiting for temporary instance backup-runner-tmp-db-\d+ to become available after 2 s \(status: creating\)/);
    } finally {
      await source.cleanup?.(ctx);
    }
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(fake.calls.filter((c) => c.startsWith('DeleteDBInstance '))).toHaveLength(3);
    expect(lines.join('\n')).toMatch(/refuses to delete .* retrying/);
    expect(fake.temporaryInstances()).toEqual([]);
  });

  it('stops waiting at once when the run is aborted, and still deletes the instance', async () => {
    await startFake({ stayCreating: true });
    const controller = new AbortController();
    const source = await makeSource(rdsSource, rdsOptions(fake, { dbname: db, dbuser: 'root', poll_interval: 30 }));
    const ctx = cloudContext(await workdir('abort'), capturingLogger().logger, controller.signal);
    const watcher = setInterval(() => {
      if (fake.calls.some((c) => c.startsWith('RestoreDBInstanceFromDBSnapshot'))) controller.abort(new Error('received SIGTERM'));
    }, 20);
    const started = Date.now();
    try {
      await expect(collectArtifacts(source.open(ctx))).rejects.toThrow(/SIGTERM/);
    } finally {
      clearInterval(watcher);
      await source.cleanup?.(ctx);
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(fake.deletedNames()).toHaveLength(1);
    expect(fake.temporaryInstances()).toEqual([]);
  });

  it('removes tagged leftovers of its own crashed runs (and nothing else), and says so', async () => {

    useVirtualClock();
    await startFake({ omitTagList: true });
    const tags = (host: string, source = 'db') => [
      { Key: 'backup-runner:temporary', Value: 'true' },
      { Key: 'backup-runner:source', Value: source },
      { Key: 'backup-runner:host', Value: host },
    ];
    fake.addInstance({ id: 'backup-runner-tmp-db-20240101000000', status: 'available', tags: tags('host1') });
    fake.addInstance({ id: 'backup-runner-tmp-db-20240102000000', status: 'creating', tags: [...tags('host1'), { Key: 'backup-runner:job', Value: 'job' }] });
    fake.addInstance({ id: 'backup-runner-tmp-db-20240103000000', status: 'available', tags: tags('otherhost') });
    fake.addInstance({ id: 'backup-runner-tmp-db-20240104000000', status: 'available', tags: [...tags('host1'), { Key: 'backup-runner:job', Value: 'otherjob' }] });
    fake.addInstance({ id: 'backup-runner-tmp-other-20240101000000', status: 'available', tags: tags('host1', 'other') });
    fake.addInstance({ id: 'backup-runner-tmp-untagged', status: 'available', tags: [] });
    fake.addInstance({ id: 'production-db', status: 'available', tags: tags('host1') });
    const { logger, lines } = capturingLogger();
    const source = await makeSource(rdsSource, rdsOptions(fake, { dbname: db, dbuser: 'root' }), logger);
    const ctx = cloudContext(await workdir('leftovers'), logger);
    try {
      await collectArtifacts(source.open(ctx));
    } finally {
      await source.cleanup?.(ctx);
    }
    const deleted = fake.deletedNames();
    expect(deleted.slice(0, 2).sort()).toEqual(['backup-runner-tmp-db-20240101000000', 'backup-runner-tmp-db-20240102000000']);
    expect(deleted).toHaveLength(3); // and this run's own instance
    expect(fake.calls.some((c) => c.startsWith('ListTagsForResource'))).toBe(true);
    for (const kept of ['backup-runner-tmp-db-20240103000000', 'backup-runner-tmp-db-20240104000000', 'backup-runner-tmp-other-20240101000000', 'backup-runner-tmp-untagged', 'production-db', LIVE]) {
      expect(fake.instances.get(kept)?.status).toBe('available');
    }
    expect(lines.filter((l) => / WARN .*deleting temporary RDS instance backup-runner-tmp-db-2024010[12]000000.*left behind by an earlier run/.test(l))).toHaveLength(2);
  });

  it('refuses an instance of another engine before restoring anything', async () => {
    await startFake({ engine: 'postgres' });
    const source = await makeSource(rdsSource, rdsOptions(fake, { dbname: db, dbuser: 'root' }));
    const ctx = cloudContext(await workdir('engine'), capturingLogger().logger);
    try {
      await expect(collectArtifacts(source.open(ctx))).rejects.toThrow(/runs postgres: use "type": "rds-pgsql"/);
    } finally {
      await source.cleanup?.(ctx);
    }
    expect(fake.calls.some((c) => c.startsWith('Restore'))).toBe(false);
  });

  it('names the credentials when AWS rejects them', async () => {
    await startFake();
    const source = await makeSource(rdsSource, rdsOptions(fake, { dbname: db, dbuser: 'root', credentials: { aws_access_key_id: 'AKIAWRONG', aws_secret_access_key: 'x' } }));
    const ctx = cloudContext(await workdir('creds'), capturingLogger().logger);
    try {
      await expect(collectArtifacts(source.open(ctx))).rejects.toThrow(/AWS rejected the credentials \(InvalidClientTokenId\): check credentials.aws_access_key_id/);
    } finally {
      await source.cleanup?.(ctx);
    }
  });

  describe('through the CLI', () => {
    function job(dir: string, source: Record<string, unknown>): Promise<string> {
      return writeJob(dir, {
        sources: [{ id: 'db', type: 'rds', passphrase: PASSPHRASE, ...source }],
        destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
        notifications: [],
      });
    }

    async function storedFiles(dir: string): Promise<string[]> {
      const out: string[] = [];
      const walk = async (d: string): Promise<void> => {
        for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
          if (e.isDirectory()) await walk(join(d, e.name));
          else out.push(e.name);
        }
      };
      await walk(join(dir, 'store'));
      return out;
    }

    it('stores an encrypted dump that restores row for row, and deletes the instance', async () => {
      await startFake();
      const dir = await workdir('cli-ok');
      const jobPath = await job(dir, rdsOptions(fake, { dbname: db, dbuser: user, dbpass: userPassword }));
      const result = await runCli(['run', jobPath]);
      expect(result.stderr).not.toContain(userPassword);
      expect(result.code, result.stderr).toBe(0);
      expect(fake.deletedNames()).toHaveLength(1);
      expect(fake.temporaryInstances()).toEqual([]);
      expect(await storedFiles(dir)).toEqual(expect.arrayContaining(['db.sql.zst.gpg', 'db.manifest.json']));

      // The dump names its database (--databases, as the original): load it into a new one
      // through a mysql-type job with the same id, which reads the same stored run.
      const target = `${db}_restored`;
      created.push(target);
      const restoreJob = await writeJob(
        dir,
        {
          sources: [{ id: 'db', type: 'mysql', dbhost: '127.0.0.1', dbuser: 'root', dbname: db, passphrase: PASSPHRASE }],
          destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store') }],
          notifications: [],
        },
        'restore.json',
      );
      const restored = await runCli(['restore', restoreJob, '--source', 'db', '--to-database', target]);
      expect(restored.code, restored.stderr).toBe(0);
      expect(await describeMysqlDatabase(target)).toEqual(await describeMysqlDatabase(db));
      expect((await mysqlRoot('SELECT count(*) FROM customers;', target)).trim()).toBe('4');
    });

    it('fails (exit 1), stores nothing and deletes the instance when the password is wrong', async () => {
      await startFake();
      const dir = await workdir('cli-badpass');
      const jobPath = await job(dir, rdsOptions(fake, { dbname: db, dbuser: user, dbpass: 'wrong-password-1' }));
      const result = await runCli(['run', jobPath]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/Access denied/);
      expect(result.stderr).not.toContain('wrong-password-1');
      expect(fake.deletedNames()).toHaveLength(1);
      expect(fake.temporaryInstances()).toEqual([]);
      expect((await storedFiles(dir)).filter((f) => f.endsWith('.gpg'))).toEqual([]);
    });

    it('deletes the instance when SIGTERM arrives while it waits, and exits non-zero', async () => {
      await startFake({ stayCreating: true });
      const dir = await workdir('cli-sigterm');
      const jobPath = await job(dir, rdsOptions(fake, { dbname: db, dbuser: 'root', poll_interval: 30 }));
      const child = spawn(process.execPath, [BIN, 'run', jobPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      const deadline = Date.now() + 30_000;
      while (!fake.calls.some((c) => c.startsWith('DescribeDBInstances backup-runner-tmp-')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(fake.temporaryInstances()).toHaveLength(1);
      const sentAt = Date.now();
      child.kill('SIGTERM');
      const code = await exited;
      expect(code, stderr).not.toBe(0);
      expect(code).not.toBeNull();
      expect(Date.now() - sentAt).toBeLessThan(15_000);
      expect(fake.deletedNames()).toHaveLength(1);
      expect(fake.temporaryInstances()).toEqual([]);
      expect(stderr).toMatch(/SIGTERM/);
    });
  });

  describe('rds-pgsql', () => {
    const pgDb = `br_rdspg_${suffix()}`;
    const pgTarget = `${pgDb}_restored`;

    beforeAll(async () => {
      await psqlAs(`CREATE DATABASE ${pgDb} TEMPLATE template0 ENCODING 'UTF8';`);
      await psqlAs(
        `CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2), tags text[], meta jsonb);
         INSERT INTO items (name, price, tags, meta) VALUES ('apple', 1.25, '{fruit,red}', '{"a":1}'), ('bread', 3.10, NULL, NULL), ('crème', 2, '{}', '{"b":[1,2]}');
         CREATE TABLE stock (item_id int REFERENCES items (id), qty int NOT NULL);
         INSERT INTO stock VALUES (1, 10), (2, 0), (3, 7);`,
        { database: pgDb },
      );
    });

    afterAll(async () => {
      await psqlAs(`DROP DATABASE IF EXISTS ${pgDb}; DROP DATABASE IF EXISTS ${pgTarget};`);
    });

    it('dumps the restored PostgreSQL instance; the stored run restores row for row; the instance is deleted', async () => {
      fake = await new FakeRds({ endpoint: { address: '127.0.0.1', port: 5432 }, engine: 'postgres', accessKeyId: CREDENTIALS.aws_access_key_id }).start();
      seed(fake);
      const dir = await workdir('pg-cli');
      const jobPath = await writeJob(dir, {
        sources: [{ id: 'pg', type: 'rds-pgsql', passphrase: PASSPHRASE, ...rdsOptions(fake, { dbname: pgDb, dbuser: 'postgres' }) }],
        destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
        notifications: [],
      });
      const result = await runCli(['run', jobPath]);
      expect(result.code, result.stderr).toBe(0);
      expect(fake.deletedNames()).toEqual([expect.stringMatching(/^backup-runner-tmp-pg-\d{14}$/)]);
      expect(fake.temporaryInstances()).toEqual([]);

      const restoreJob = await writeJob(
        dir,
        {
          sources: [{ id: 'pg', type: 'pgsql', dbhost: '127.0.0.1', dbuser: 'postgres', dbname: pgDb, passphrase: PASSPHRASE }],
          destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store') }],
          notifications: [],
        },
        'restore.json',
      );
      const restored = await runCli(['restore', restoreJob, '--source', 'pg', '--to-database', pgTarget]);
      expect(restored.code, restored.stderr).toBe(0);
      expect(await describePgDatabase(pgTarget)).toEqual(await describePgDatabase(pgDb));
    });

    it('deletes the instance when the database does not exist', async () => {

      useVirtualClock();
      fake = await new FakeRds({ endpoint: { address: '127.0.0.1', port: 5432 }, engine: 'postgres' }).start();
      seed(fake);
      const source = await makeSource(rdsPgsqlSource, rdsOptions(fake, { dbname: 'no_such_pg_db', dbuser: 'postgres' }));
      const ctx = cloudContext(await workdir('pg-fail'), capturingLogger().logger);
      let artifacts;
      try {
        artifacts = await collectArtifacts(source.open(ctx));
      } finally {
        await source.cleanup?.(ctx);
      }
      expect(String((artifacts[0]!.error as Error).message)).toMatch(/database no_such_pg_db does not exist/);
      expect(fake.deletedNames()).toHaveLength(1);
      expect(fake.temporaryInstances()).toEqual([]);
    });
  });
});
