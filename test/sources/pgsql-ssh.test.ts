/**
 * pgsql-ssh through the test sshd: to the machine's PostgreSQL (127.0.0.1:5432, trust) for
 * dump and restore, and to a private scram-sha-256 cluster for the password itself. A
 * wrapper in front of the real pg_dump on the remote PATH logs its argv and the PGPASSFILE
 * it was given.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { pgsqlSshSource } from '../../src/sources/pgsql-ssh/index.js';
import type { Source, SourceContext } from '../../src/sources/types.js';
import { describeWith, findBinary } from '../support/binaries.js';
import { PG_CLUSTER_BINARIES, startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { psqlAs, dumpSource } from '../support/sql.js';
import { startSshd, type SshdServer } from '../support/sshd.js';
import { makeTempDir } from '../support/tmp.js';

const job = { path: '/job.json', name: 'job', hostname: 'host' };
const suffix = randomBytes(4).toString('hex');
const DB_A = `brt_pgssh_${suffix}_a`;
const DB_B = `brt_pgssh_${suffix}_b`;
const PGPASS = `pg p@ss:w\\ord-${suffix}`;
const ROWS_SQL = 'SELECT id, name, encode(data, \'hex\'), price, created, note FROM items ORDER BY id';

describeWith(['sshd', 'ssh-keygen', 'pg_dump', 'pg_dumpall', 'psql'], 'pgsql-ssh source', () => {
  let sshd: SshdServer;
  let work: { path: string; remove: () => Promise<void> };
  let log: string;
  const expected = new Map<string, string>();

  beforeAll(async () => {
    work = await makeTempDir();
    const bin = join(work.path, 'bin');
    mkdirSync(bin);
    log = join(work.path, 'argv.log');
    for (const name of ['pg_dump', 'pg_dumpall', 'psql']) {
      writeFileSync(
        join(bin, name),
        `#!/bin/sh
{ printf '%s' "${name}"; for a in "$@"; do printf '\\t%s' "$a"; done; echo; } >> ${log}
if [ -n "$PGPASSFILE" ]; then echo "pgpassfile $PGPASSFILE $(stat -c '%a %U' "$PGPASSFILE") pgpassword=\${PGPASSWORD:-unset}" >> ${log}; fi
exec ${findBinary(name)} "$@"
`,
        { mode: 0o755 },
      );
    }
    sshd = await startSshd({ pathPrepend: [bin] });
    for (const [db, rows] of [
      [DB_A, `(1, 'plain', '\\x00ff10', 9.99, '2024-01-02 03:04:05', NULL), (2, 'quote '' and \\ backslash', '\\x', 0, '1999-12-31 23:59:59', E'line1\\nline2')`],
      [DB_B, `(1, 'ünïcødé ✓', NULL, -12.5, NULL, repeat('x', 5000))`],
    ] as const) {
      await psqlAs(`DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db};`);
      await psqlAs(`CREATE TABLE items (id int PRIMARY KEY, name text, data bytea, price numeric(10,2), created timestamp, note text); INSERT INTO items VALUES ${rows};`, { database: db });
      expected.set(db, await psqlAs(ROWS_SQL, { database: db }));
    }
  });

  afterAll(async () => {
    try {
      for (const db of [DB_A, DB_B, `${DB_A}_restored`, `${DB_B}_restored`]) await psqlAs(`DROP DATABASE IF EXISTS ${db};`);
    } finally {
      await sshd?.stop();
      await work?.remove();
    }
  });

  beforeEach(() => writeFileSync(log, ''));

  async function makeSource(extra: Record<string, unknown> = {}): Promise<Source> {
    const options = pgsqlSshSource.options.parse({
      sshhost: sshd.host,
      sshport: sshd.port,
      sshuser: sshd.user,
      identity_file: sshd.identityFile,
      known_hosts: sshd.knownHostsFile,
      dbhost: '127.0.0.1',
      dbuser: 'postgres',
      dbpass: PGPASS,
      dbname: [DB_A, DB_B],
      ...extra,
    });
    return (await pgsqlSshSource.create({ id: 'pg', type: 'pgsql-ssh', ...options } as never, { job, logger: silentLogger })) as Source;
  }

  const context = (): SourceContext => ({ job, tmpdir: work.path, logger: silentLogger, signal: new AbortController().signal });

  const dumpAll = (source: Source) => dumpSource(source, context());


  const pgpassLines = () =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('pgpassfile '))
      .map((line) => line.split(' '));

  it('dumps each database and the roles on the remote host; each restores to the same rows; no password in argv', async () => {
    const artifacts = await dumpAll(await makeSource({ globals: 1 }));
    expect(artifacts.map((a) => a.name)).toEqual(['pg.globals.sql', `pg.${DB_A}.sql`, `pg.${DB_B}.sql`]);
    for (const artifact of artifacts) expect(artifact.error).toBeUndefined();
    expect(artifacts[0]!.data.toString()).toMatch(/CREATE ROLE postgres;/);

    const text = readFileSync(log, 'utf8');
    expect(text).toContain(`pg_dump\t-h\t127.0.0.1\t-p\t5432\t-U\tpostgres\t-w\t--format=plain\t-d\tdbname='${DB_A}'`);
    expect(text).not.toContain(PGPASS);
    expect(text).not.toContain('p@ss');
    const files = pgpassLines();
    expect(files).toHaveLength(3);
    for (const file of files) {
      expect(file.slice(2)).toEqual(['600', 'root', 'pgpassword=unset']);
      expect(existsSync(file[1]!)).toBe(false);
    }

    for (const [db, artifact] of [
      [DB_A, artifacts[1]!],
      [DB_B, artifacts[2]!],
    ] as const) {
      const restored = `${db}_restored`;
      await psqlAs(`DROP DATABASE IF EXISTS ${restored}; CREATE DATABASE ${restored};`);
      await psqlAs(artifact.data.toString(), { database: restored });
      expect(await psqlAs(ROWS_SQL, { database: restored })).toBe(expected.get(db));
    }
  });

  it('one database in custom format gives <id>.dump, and check() reaches it', async () => {
    await (await makeSource({ dbname: DB_A })).check!(context());
    const artifacts = await dumpAll(await makeSource({ dbname: DB_A, format: 'custom' }));
    expect(artifacts.map((a) => a.name)).toEqual(['pg.dump']);
    expect(artifacts[0]!.data.subarray(0, 5).toString()).toBe('PGDMP');
  });

  it('rejects done when the remote pg_dump exits non-zero after writing output', async () => {
    const fake = join(work.path, 'half-pg_dump');
    writeFileSync(fake, '#!/bin/sh\necho "-- PostgreSQL database dump"\necho "COPY items FROM stdin;"\necho "pg_dump: error: Dumping the contents of table \\"items\\" failed: PQgetResult() failed." >&2\nexit 1\n', { mode: 0o755 });
    const [artifact] = await dumpAll(await makeSource({ dbname: DB_A, dump_command: fake }));
    expect(artifact!.data.toString()).toContain('COPY items');
    expect(artifact!.error).toBeInstanceOf(SourceError);
    expect((artifact!.error as SourceError).message).toMatch(/half-pg_dump on .* exited 1/);
    expect((artifact!.error as SourceError).stderrTail).toContain('PQgetResult() failed');
  });

  it('names a database that does not exist', async () => {
    const [artifact] = await dumpAll(await makeSource({ dbname: `brt_pgssh_missing_${suffix}` }));
    expect((artifact!.error as SourceError).message).toMatch(/database brt_pgssh_missing_\w+ does not exist at 127\.0\.0\.1:5432/);
  });

  describeWith([...PG_CLUSTER_BINARIES], 'against a cluster that checks passwords', () => {
    let cluster: PgCluster;
    beforeAll(async () => {
      cluster = await startPgCluster(PGPASS);
    }, 120_000);
    afterAll(async () => {
      await cluster?.stop();
    });

    it('logs in with the password sent over the channel', async () => {
      const artifacts = await dumpAll(await makeSource({ port: cluster.port, dbname: 'postgres' }));
      expect(artifacts[0]!.error).toBeUndefined();
      expect(artifacts[0]!.data.toString()).toContain('PostgreSQL database dump complete');
      expect(readFileSync(log, 'utf8')).not.toContain(PGPASS);
    });

    it('explains a wrong password without showing it', async () => {
      const [artifact] = await dumpAll(await makeSource({ port: cluster.port, dbname: 'postgres', dbpass: 'wrong-pg-password' }));
      const error = artifact!.error as SourceError;
      expect(error).toBeInstanceOf(SourceError);
      expect(error.message).toMatch(/password authentication failed for postgres at 127\.0\.0\.1:\d+: check dbuser and dbpass/);
      expect(error.describe()).not.toContain('wrong-pg-password');
      for (const file of pgpassLines()) expect(existsSync(file[1]!)).toBe(false);
    });
  });
});

describe('pgsql-ssh options', () => {
  it('accepts the postgresql-ssh alias and rejects password options', () => {
    expect(pgsqlSshSource.aliases).toContain('postgresql-ssh');
    const options = pgsqlSshSource.options.parse({ sshhost: 'h', dbhost: 'localhost', dbname: 'x', options: '--password' });
    expect(pgsqlSshSource.problems!(options as never).map((p) => p.key)).toEqual(['options']);
  });
});
