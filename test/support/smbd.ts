/**
 * A private Samba server for tests: Debian's smbd on a free loopback port, with every state,
 * lock, cache and password file in a temp dir, one share and one user (a system account created
 * once with useradd; Samba maps SMB users to Unix users, and smbd runs as root to switch to it).
 *
 *   const smb = await startSmbd();   // smb.port, smb.share, smb.username, smb.password, smb.shareDir
 *   ...
 *   await smb.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { makeTempDir } from './tmp.js';

export const SMBD_BINARIES = ['smbd', 'smbpasswd', 'smbclient', 'useradd'] as const;

export interface SmbdServer {
  host: string;
  port: number;
  share: string;
  /** The folder on this machine that the share serves. */
  shareDir: string;
  username: string;
  password: string;
  workgroup: string;
  /** smbd's log output so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface SmbdOptions {
  share?: string;
  username?: string;
  password?: string;
  workgroup?: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function ensureSystemUser(name: string): { uid: number; gid: number } {
  const lookup = () => {
    const result = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    if (result.status !== 0) return undefined;
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    return { uid: Number(result.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  const existing = lookup();
  if (existing) return existing;
  const useradd = findBinary('useradd') ?? 'useradd';
  const created = spawnSync(useradd, ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { encoding: 'utf8' });
  // Another test process may have created it at the same moment: look again before failing.
  const after = lookup();
  if (after) return after;
  throw new Error(`useradd ${name} failed (smbd tests run as root): ${created.stderr || created.error?.message}`);
}

async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`smbd exited (${child.exitCode ?? child.signalCode}) before listening:\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`smbd did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startSmbd(options: SmbdOptions = {}): Promise<SmbdServer> {
  if (process.getuid?.() !== 0) throw new Error('startSmbd needs root: smbd switches to the share user for file access');
  const smbd = findBinary('smbd');
  const smbpasswd = findBinary('smbpasswd');
  if (!smbd || !smbpasswd) throw new Error('smbd/smbpasswd not installed (apt-get install samba)');

  const share = options.share ?? 'backups';
  const username = options.username ?? 'brsmbtest';
  const password = options.password ?? 'Sm8 pass=word;#1';
  const workgroup = options.workgroup ?? 'TESTGROUP';
  const { uid, gid } = ensureSystemUser(username);

  const dir = await makeTempDir('br-smbd-');
  // The share user must be able to reach the share folder inside the (root-owned) temp dir.
  await chmod(dir.path, 0o755);
  const shareDir = join(dir.path, 'share');
  for (const sub of ['private', 'lock', 'state', 'cache', 'pid', 'ncalrpc', 'log']) await mkdir(join(dir.path, sub), { mode: 0o700 });
  await mkdir(shareDir, { mode: 0o700 });
  await chown(shareDir, uid, gid);

  const port = await freePort();
  const conf = join(dir.path, 'smb.conf');
  await writeFile(
    conf,
    [
      '[global]',
      `  workgroup = ${workgroup}`,
      '  netbios name = BRTEST',
      '  server role = standalone server',
      `  smb ports = ${port}`,
      '  interfaces = 127.0.0.1',
      '  bind interfaces only = yes',
      '  disable netbios = yes',
      `  private dir = ${join(dir.path, 'private')}`,
      `  lock directory = ${join(dir.path, 'lock')}`,
      `  state directory = ${join(dir.path, 'state')}`,
      `  cache directory = ${join(dir.path, 'cache')}`,
      `  pid directory = ${join(dir.path, 'pid')}`,
      `  ncalrpc dir = ${join(dir.path, 'ncalrpc')}`,
      `  log file = ${join(dir.path, 'log', 'log.%m')}`,
      '  log level = 1',
      `  passdb backend = tdbsam:${join(dir.path, 'private', 'passdb.tdb')}`,
      '  map to guest = never',
      '  restrict anonymous = 2',
      '  load printers = no',
      '  printing = bsd',
      '  printcap name = /dev/null',
      '  disable spoolss = yes',
      '  server min protocol = SMB2',
      '',
      `[${share}]`,
      `  path = ${shareDir}`,
      '  read only = no',
      `  valid users = ${username}`,
      '  create mask = 0600',
      '  directory mask = 0700',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  const added = spawnSync(smbpasswd, ['-c', conf, '-a', '-s', username], { input: `${password}\n${password}\n`, encoding: 'utf8' });
  if (added.status !== 0) {
    await dir.remove();
    throw new Error(`smbpasswd -a ${username} failed: ${added.stderr || added.stdout}`);
  }

  let output = '';
  // Its own process group (detached): stop() ends smbd and the children it forked together.
  const child = spawn(smbd, ['--foreground', '--no-process-group', '--debug-stdout', `--configfile=${conf}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => output;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const killed = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      if (!killed) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await exited;
      }
    }
    await dir.remove();
  };

  try {
    await waitForPort(port, child, log, 20_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host: '127.0.0.1', port, share, shareDir, username, password, workgroup, log, stop };
}
