/**
 * A private PostgreSQL cluster for tests of password handling: the machine's own cluster
 * trusts every local connection, so a wrong password would pass there. initdb with
 * scram-sha-256 into a temp dir, started on a free loopback port, stopped by `stop()`.
 * initdb and pg_ctl refuse to run as root: as root they run as the `postgres` user.
 */
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { run } from './sql.js';

export const PG_CLUSTER_BINARIES = ['initdb', 'pg_ctl', 'runuser'] as const;

export interface PgCluster {
  host: string;
  port: number;
  /** The superuser, with `password`. */
  user: string;
  password: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startPgCluster(password: string): Promise<PgCluster> {
  const isRoot = userInfo().uid === 0;
  const dir = await mkdtemp('/tmp/br-pgcluster-');
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pwfile');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  let uid = -1;
  let gid = -1;
  if (isRoot) {
    const id = await run('id', ['-u', 'postgres']);
    const gidOut = await run('id', ['-g', 'postgres']);
    uid = Number(id.stdout.trim());
    gid = Number(gidOut.stdout.trim());
    await chown(dir, uid, gid);
    await chown(pwfile, uid, gid);
  }
  const as = (binary: string, args: string[]): [string, string[]] => {
    const path = findBinary(binary);
    if (!path) throw new Error(`${binary} not found`);
    return isRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  };
  const must = async (binary: string, args: string[]) => {
    const [command, argv] = as(binary, args);
    const result = await run(command, argv);
    if (result.code !== 0) throw new Error(`${binary} failed (${result.code}): ${result.stderr}${result.stdout}`);
  };
  await must('initdb', ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  await must('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    async stop() {
      await must('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
