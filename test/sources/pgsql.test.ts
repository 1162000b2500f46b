import { execFileSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadJobText } from '../../src/config/load.js';
import { BackupError, ConfigError } from '../../src/errors.js';
import { Redactor } from '../../src/secrets.js';
import { pgsqlSource } from '../../src/sources/pgsql/index.js';
import { pgArtifactNames, pgDumpArgs, pgpassFile } from '../../src/sources/sql/pg-dump.js';
import { pgDumpProblems } from '../../src/sources/sql/pg-schema.js';
import type { Source } from '../../src/sources/types.js';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { gpgDecrypt, makeGpgHome } from '../support/gpg.js';
import { PG_CLUSTER_BINARIES, startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { collectArtifacts, describePgDatabase, PG_HOST, PG_PORT, psqlAs, sourceContext, suffix } from '../support/sql.js';
import { makeTempDir } from '../support/tmp.js';
import { makeSourceFrom, writeScript } from '../support/plugins.js';

const PASSPHRASE = 'correct horse battery staple 4b2d';
const makeSource = (options: Record<string, unknown>): Promise<Source> => makeSourceFrom(pgsqlSource, options);
const script = writeScript;

const binaryHex = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('hex');

/** A database with the awkward parts: NULLs, unicode, bytea, arrays, jsonb, a view, a trigger, a function, a procedure. */
function schemaSql(): string {
  return `
    CREATE TABLE customers (
      id serial PRIMARY KEY,
      name text NOT NULL,
      note text,
      balance numeric(12,2) NOT NULL DEFAULT 0,
      created timestamptz,
      data bytea,
      doc jsonb,
      tags text[],
      CONSTRAINT name_len CHECK (length(name) < 200)
    );
    CREATE INDEX customers_name_idx ON customers (name);
    CREATE TABLE audit (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id), action text NOT NULL, at timestamptz NOT NULL DEFAULT now());
    CREATE FUNCTION log_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO audit (customer_id, action) VALUES (NEW.id, 'insert');
      RETURN NEW;
    END $$;
    CREATE TRIGGER customers_ai AFTER INSERT ON customers FOR EACH ROW EXECUTE FUNCTION log_insert();
    INSERT INTO customers (name, note, balance, created, data, doc, tags) VALUES
      ('Zoë 🦊 日本語 — "double" ''single'' back\\slash', E'line1\\nline2\\ttab\\r', 1234.50, '2024-02-29 23:59:59.123+00', decode('${binaryHex}', 'hex'), '{"a": [1, 2, null], "ü": "✓"}', ARRAY['a', NULL, 'c d']),
      ('no extras', NULL, 0, NULL, NULL, NULL, NULL),
      ('', '', -0.01, 'epoch', '\\x', 'null', '{}');
    CREATE TABLE blobs (id int PRIMARY KEY, payload bytea);
    INSERT INTO blobs VALUES (1, decode(repeat('${binaryHex}', 4096), 'hex')), (2, NULL);
    CREATE VIEW rich_customers AS SELECT id, name, balance FROM customers WHERE balance > 100;
    CREATE FUNCTION greet(p text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'hi ' || p $$;
    CREATE PROCEDURE add_customer(p_name text) LANGUAGE sql AS $$ INSERT INTO customers (name) VALUES (p_name) $$;
    COMMENT ON TABLE customers IS 'Kunden ✓';
  `;
}

describe('pgsql options and argv', () => {
  it('escapes the pgpass line and keeps the password out of argv', () => {
    expect(pgpassFile({ dbhost: 'h', dbpass: 'a:b\\c' })).toBe('*:*:*:*:a\\:b\\\\c\n');
    const argv = pgDumpArgs({ dbhost: 'db1', port: 5433, dbuser: 'backups', dbpass: 'secret' }, { dbname: ['x'], format: 'custom', options: "--exclude-table='big log'" }, "it's");
    expect(argv).toEqual(['-h', 'db1', '-p', '5433', '-U', 'backups', '-w', '--format=custom', '--exclude-table=big log', '-d', "dbname='it\\'s'"]);
    expect(argv.join(' ')).not.toContain('secret');
  });

  it('names one artifact per database, file-safe and unique', () => {
    expect([...pgArtifactNames('db', ['shop'], false, 'plain').values()]).toEqual(['db.sql']);
    expect([...pgArtifactNames('db', ['shop'], false, 'custom').values()]).toEqual(['db.dump']);
    expect([...pgArtifactNames('db', ['a b', 'a/b', 'globals'], true, 'plain', ['db.globals.sql']).values()]).toEqual(['db.a_b.sql', 'db.a_b_2.sql', 'db.globals_2.sql']);
  });

  it('rejects options that would leak a password, divert the dump or fight the keys', () => {
    const problems = (options: string) => pgDumpProblems({ dbname: ['x'], options }).map((p) => p.message);
    expect(problems('-W')[0]).toMatch(/no password/);
    expect(problems('--file=/tmp/x')[0]).toMatch(/writes the dump to a file/);
    expect(problems('-Fc')[0]).toMatch(/"format" key/);
    expect(problems('--dbname=other')[0]).toMatch(/"dbname" key/);
    expect(problems('--no-owner --exclude-table=x')).toEqual([]);
    expect(pgDumpProblems({ dbname: ['*', 'x'] })[0]?.key).toBe('dbname');
  });

  it('requires dbhost and dbname, accepts the aliases postgres and postgresql, defaults port 5432 and format plain', () => {
    const load = (source: Record<string, unknown>) =>
      loadJobText(
        JSON.stringify({ hostname: 'h', tmpdir: '/tmp', state_dir: '/tmp/state', sources: [source], destinations: [{ id: 'disk', type: 'local', path: '/tmp' }] }),
        { env: {}, redactor: new Redactor() },
        '/tmp/job.json',
      );
    let error: unknown;
    try {
      load({ id: 'db', type: 'pgsql', passphrase: 'test-passphrase' });
    } catch (e) {
      error = e;
    }
    expect((error as ConfigError).problems.map((p) => `${p.path}: ${p.message}`)).toEqual(['sources[0].dbhost: required', expect.stringMatching(/^sources\[0\]\.dbname: /)]);
    for (const type of ['pgsql', 'postgres', 'postgresql']) {
      const job = load({ id: 'db', type, dbhost: 'localhost', dbname: 'livecompany', dbuser: 'backups', dbpass: 'zzz', passphrase: 'test-passphrase' });
      expect(job.sources[0]!.options).toMatchObject({ port: 5432, format: 'plain', dbname: ['livecompany'] });
    }
  });
});

describeWith(['psql', 'pg_dump', 'pg_dumpall', 'pg_restore', 'gpg', 'zstd'], 'pgsql source against the machine\'s PostgreSQL', () => {
  const tag = suffix();
  const sourceDb = `br_src_${tag}`;
  const databases: string[] = [sourceDb];
  const dirs: { remove: () => Promise<void> }[] = [];
  const tempDir = async () => {
    const dir = await makeTempDir('br-pgsql-');
    dirs.push(dir);
    return dir.path;
  };
  const conn = { dbhost: PG_HOST, port: PG_PORT, dbuser: 'postgres' };

  beforeAll(async () => {
    await psqlAs(`CREATE DATABASE ${sourceDb} TEMPLATE template0 ENCODING 'UTF8';`);
    await psqlAs(schemaSql(), { database: sourceDb });
  });

  afterAll(async () => {
    for (const db of databases) await psqlAs(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE);`);
    await Promise.all(dirs.map((d) => d.remove()));
  });

  it('end to end: `backup run` stores it encrypted (gpg reads it), `backup restore --to-database` rebuilds it identically', async () => {
    const dir = await tempDir();
    const gpgHome = await makeGpgHome(false);
    try {
      const job = join(dir, 'job.json');
      await writeFile(
        job,
        JSON.stringify({
          hostname: 'h',
          tmpdir: join(dir, 'tmp'),
          state_dir: join(dir, 'state'),
          sources: [{ id: 'pg', type: 'postgres', name: 'Live Company Data', dbhost: PG_HOST, dbname: sourceDb, dbuser: 'postgres', passphrase: PASSPHRASE }],
          destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
          notifications: [],
        }),
      );
      const run = await runCli(['run', job]);
      expect(run.code, run.stderr).toBe(0);
      const stored = (await readdir(join(dir, 'store', 'pg'), { recursive: true })).filter((f) => f.endsWith('.gpg'));
      expect(stored).toEqual([expect.stringMatching(/^\d{14}(?:-\d+)?\/pg\.sql\.zst\.gpg$/)]);
      const sql = execFileSync('zstd', ['-d', '-c'], { input: await gpgDecrypt(join(dir, 'store', 'pg', stored[0]!), gpgHome, PASSPHRASE), maxBuffer: 1 << 30 });
      expect(sql.toString()).toContain('CREATE TABLE public.customers');

      const target = `br_e2e_${tag}`;
      databases.push(target);
      const restore = await runCli(['restore', job, '--source', 'pg', '--to-database', target]);
      expect(restore.code, restore.stderr).toBe(0);
      expect(await describePgDatabase(target)).toEqual(await describePgDatabase(sourceDb));
      const again = await runCli(['restore', job, '--source', 'pg', '--to-database', target]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(new RegExp(`database ${target} already exists and holds \\d+ table`));
      expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    } finally {
      await gpgHome.remove();
    }
  });

  for (const format of ['plain', 'custom'] as const) {
    it(`dumps (${format}) and restores into a fresh database: same schema, same rows`, async () => {
      const tmp = await tempDir();
      const ctx = sourceContext(tmp);
      const source = await makeSource({ ...conn, dbname: sourceDb, format });
      await source.check!(ctx);
      const artifacts = await collectArtifacts(source.open(ctx));
      const name = format === 'plain' ? 'db.sql' : 'db.dump';
      expect(artifacts.map((a) => [a.name, a.error])).toEqual([[name, undefined]]);
      // 4096 copies of every byte value: a plain dump holds them all; custom compresses them.
      if (format === 'plain') expect(artifacts[0]!.data.length).toBeGreaterThan(1_000_000);
      await source.cleanup!(ctx);

      const target = `br_dst_${format}_${tag}`;
      databases.push(target);
      await source.restoreInto!(Readable.from([artifacts[0]!.data]), { database: target, force: false, artifactName: name }, ctx);
      const original = await describePgDatabase(sourceDb);
      const restored = await describePgDatabase(target);
      expect(original['rows:public.customers']).toContain('Zoë 🦊');
      expect(original['rows:public.customers']).toContain('\\N');
      expect(original.routines).toMatch(/add_customer\|PROCEDURE/);
      expect(original.triggers).toContain('customers_ai');
      expect(original.views).toContain('rich_customers');
      expect(restored).toEqual(original);
      expect(await psqlAs(`SELECT encode(data, 'hex') FROM customers WHERE id = 1;`, { database: target })).toBe(`${binaryHex}\n`);
      expect(await psqlAs(`SELECT greet('x');`, { database: target })).toBe('hi x\n');
      expect(await readdir(tmp)).toEqual([]);
    });
  }

  it('dumps a list of databases as one artifact each', async () => {
    const tmp = await tempDir();
    const other = `br_other_${tag}`;
    databases.push(other);
    await psqlAs(`CREATE DATABASE ${other};`);
    await psqlAs('CREATE TABLE marker (v text); INSERT INTO marker VALUES (\'other\');', { database: other });
    const source = await makeSource({ ...conn, dbname: `${sourceDb} ${other}` });
    const artifacts = await collectArtifacts(source.open(sourceContext(tmp)));
    expect(artifacts.map((a) => [a.name, a.error])).toEqual([
      [`db.${sourceDb}.sql`, undefined],
      [`db.${other}.sql`, undefined],
    ]);
    expect(artifacts[1]!.data.toString()).toContain('COPY public.marker (v) FROM stdin;\nother\n');
  });

  it('refuses a database with tables unless forced, and a dump that would connect to its own database', async () => {
    const tmp = await tempDir();
    const ctx = sourceContext(tmp);
    const busy = `br_busy_${tag}`;
    databases.push(busy);
    await psqlAs(`CREATE DATABASE ${busy};`);
    await psqlAs('CREATE TABLE keep (id int);', { database: busy });
    const source = await makeSource({ ...conn, dbname: sourceDb });
    const dump = Buffer.from('CREATE TABLE extra (id int);\n');
    await expect(source.restoreInto!(Readable.from([dump]), { database: busy, force: false, artifactName: 'db.sql' }, ctx)).rejects.toThrow(
      new RegExp(`database ${busy} already exists and holds 1 table.*--force`),
    );
    await source.restoreInto!(Readable.from([dump]), { database: busy, force: true, artifactName: 'db.sql' }, ctx);
    expect(await psqlAs("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public';", { database: busy })).toBe('extra,keep\n');

    const withCreate = await makeSource({ ...conn, dbname: sourceDb, options: '--create --schema-only' });
    const [artifact] = await collectArtifacts(withCreate.open(ctx));
    const target = `br_create_${tag}`;
    databases.push(target);
    await expect(withCreate.restoreInto!(Readable.from([artifact!.data]), { database: target, force: false, artifactName: 'db.sql' }, ctx)).rejects.toThrow(/pg_dump --create/);
    await expect(source.restoreInto!(Readable.from([Buffer.from('')]), { database: 'x', force: false, artifactName: 'db.globals.sql' }, ctx)).rejects.toThrow(/roles and tablespaces/);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('leaves nothing behind when the dump being restored breaks off (one transaction)', async () => {
    const tmp = await tempDir();
    const ctx = sourceContext(tmp);
    const source = await makeSource({ ...conn, dbname: sourceDb });
    const [artifact] = await collectArtifacts(source.open(ctx));
    const data = artifact!.data;
    let sent = false;
    const broken = new Readable({
      read() {
        if (sent) return;
        sent = true;
        // Cut between two complete statements: psql would commit what it got if its input simply ended.
        const cut = data.indexOf('\n--\n-- Name: rich_customers');
        expect(cut).toBeGreaterThan(0);
        this.push(data.subarray(0, cut + 1));
        setTimeout(() => this.destroy(new Error('decryption failed: message was tampered with')), 50);
      },
    });
    const target = `br_broken_${tag}`;
    databases.push(target);
    await expect(source.restoreInto!(broken, { database: target, force: false, artifactName: 'db.sql' }, ctx)).rejects.toThrow(/tampered/);
    expect(await psqlAs("SELECT count(*) FROM pg_tables WHERE schemaname = 'public';", { database: target })).toBe('0\n');
  });

  it('fails the artifact when pg_dump exits 2 or is killed after writing part of the dump', async () => {
    const tmp = await tempDir();
    const bin = await tempDir();
    const ctx = sourceContext(tmp);
    const partial = '-- PostgreSQL database dump\nCREATE TABLE t (id int);\n';
    const exits2 = await script(bin, 'exit2', `printf -- '${partial.replace(/\n/g, '\\n')}'\necho 'pg_dump: error: query failed: server closed the connection unexpectedly' >&2\nexit 2`);
    const killed = await script(bin, 'killed', `printf -- '${partial.replace(/\n/g, '\\n')}'\nkill -9 $$`);
    for (const [command, expected] of [
      [exits2, /exited 2/],
      [killed, /killed by SIGKILL/],
    ] as const) {
      const source = await makeSource({ ...conn, dbname: sourceDb, dump_command: command });
      const [artifact] = await collectArtifacts(source.open(ctx));
      expect(artifact!.data.toString()).toBe(partial);
      expect(artifact!.error).toBeInstanceOf(BackupError);
      expect((artifact!.error as Error).message).toMatch(expected);
    }
  });
});

describeWith(['psql', 'pg_dump', 'pg_dumpall', ...PG_CLUSTER_BINARIES], 'pgsql source against a password-checking PostgreSQL', () => {
  const tag = suffix();
  // pgpass treats : and \ specially; the rest is there to break naive quoting.
  const superPassword = `Sup3r:${tag}`;
  const password = `pa:ss\\wörd' #"${tag}`;
  const db = `br_pw_${tag}`;
  let cluster: PgCluster;
  const dirs: { remove: () => Promise<void> }[] = [];
  const tempDir = async () => {
    const dir = await makeTempDir('br-pgsql-');
    dirs.push(dir);
    return dir.path;
  };
  const asSuper = (sql: string, database?: string) => psqlAs(sql, { port: cluster.port, password: superPassword, database });

  beforeAll(async () => {
    cluster = await startPgCluster(superPassword);
    await asSuper(`CREATE ROLE backup LOGIN PASSWORD '${password.replace(/'/g, "''")}';`);
    await asSuper(`CREATE DATABASE ${db} OWNER backup;`);
    await psqlAs(schemaSql(), { port: cluster.port, user: 'backup', password, database: db });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await Promise.all(dirs.map((d) => d.remove()));
  });

  it('dumps every database and the globals with the password from a temporary pgpass file, and restores through it', async () => {
    const tmp = await tempDir();
    const logs = await tempDir();
    const ctx = sourceContext(tmp);
    const wrapper = await script(
      logs,
      'pg_dump-wrapper',
      `printf '%s\\n' "$@" >> ${logs}/argv.txt\nenv >> ${logs}/env.txt\nstat -c %a "$PGPASSFILE" >> ${logs}/mode.txt\nexec pg_dump "$@"`,
    );
    const source = await makeSource({ dbhost: cluster.host, port: cluster.port, dbuser: 'postgres', dbpass: superPassword, dbname: '*', globals: 1, dump_command: wrapper });
    await source.check!(ctx);
    const artifacts = await collectArtifacts(source.open(ctx));
    expect(artifacts.map((a) => [a.name, a.error])).toEqual([
      ['db.globals.sql', undefined],
      [`db.${db}.sql`, undefined],
      ['db.postgres.sql', undefined],
    ]);
    expect(artifacts[0]!.data.toString()).toMatch(/CREATE ROLE backup;/);
    expect(await readdir(tmp)).toEqual([]);
    const argv = await readFile(join(logs, 'argv.txt'), 'utf8');
    const env = await readFile(join(logs, 'env.txt'), 'utf8');
    expect(argv).toContain(`dbname='${db}'`);
    for (const text of [argv, env]) expect(text).not.toContain(superPassword);
    expect(env).toMatch(new RegExp(`^PGPASSFILE=${tmp}/pgpass-`, 'm'));
    expect(await readFile(join(logs, 'mode.txt'), 'utf8')).toBe('600\n600\n');

    // Restore through the password-checked connection, then dump as the owner role with its awkward password.
    const restorer = await makeSource({ dbhost: cluster.host, port: cluster.port, dbuser: 'postgres', dbpass: superPassword, dbname: db });
    const target = `br_pw_copy_${tag}`;
    await restorer.restoreInto!(Readable.from([artifacts[1]!.data]), { database: target, force: false, artifactName: `db.${db}.sql` }, ctx);
    const opts = { port: cluster.port, password: superPassword };
    expect(await describePgDatabase(target, opts)).toEqual(await describePgDatabase(db, opts));
    expect(await readdir(tmp)).toEqual([]);

    const owner = await makeSource({ dbhost: cluster.host, port: cluster.port, dbuser: 'backup', dbpass: password, dbname: db });
    const [own] = await collectArtifacts(owner.open(ctx));
    expect(own!.error).toBeUndefined();
    expect(own!.data.toString()).toContain('CREATE PROCEDURE public.add_customer');
  });

  it('end to end: a wrong password fails the run with exit 1 and a clear message, and the password appears nowhere', async () => {
    const dir = await tempDir();
    const wrong = `Wr0ng:e2e-${tag}`;
    const job = join(dir, 'job.json');
    await writeFile(
      job,
      JSON.stringify({
        hostname: 'h',
        tmpdir: join(dir, 'tmp'),
        state_dir: join(dir, 'state'),
        sources: [{ id: 'pg', type: 'pgsql', dbhost: cluster.host, port: cluster.port, dbname: db, dbuser: 'backup', dbpass: wrong, passphrase: PASSPHRASE }],
        destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
        notifications: [],
      }),
    );
    const run = await runCli(['run', job]);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/password authentication failed for backup/);
    expect(run.stdout + run.stderr).not.toContain(wrong);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('fails with a clear message on a wrong password, which appears nowhere', async () => {
    const tmp = await tempDir();
    const ctx = sourceContext(tmp);
    const wrong = `Wr0ng:${tag}`;
    const source = await makeSource({ dbhost: cluster.host, port: cluster.port, dbuser: 'backup', dbpass: wrong, dbname: db });
    const [artifact] = await collectArtifacts(source.open(ctx));
    const error = artifact!.error as BackupError;
    expect(error).toBeInstanceOf(BackupError);
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/pg_dump exited 1: password authentication failed for backup at 127\.0\.0\.1:\d+: check dbuser and dbpass/);
    const everything = `${error.message}\n${error.describe()}\n${error.stderrTail}\n${String(error.stack)}`;
    expect(everything).not.toContain(wrong);
    expect(await readdir(tmp)).toEqual([]);

    const noPassword = await makeSource({ dbhost: cluster.host, port: cluster.port, dbuser: 'backup', dbname: db });
    await expect(noPassword.check!(ctx)).rejects.toThrow(/asks backup for a password and none was given: set dbpass/);
    const star = await makeSource({ dbhost: cluster.host, port: cluster.port, dbuser: 'backup', dbpass: wrong, dbname: '*' });
    await expect(collectArtifacts(star.open(ctx))).rejects.toThrow(/password authentication failed/);
    expect(await readdir(tmp)).toEqual([]);
  });
});
