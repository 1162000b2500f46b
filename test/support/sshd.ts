/**
 * Debian's OpenSSH sshd, started by a test on a free 127.0.0.1 port with throwaway keys:
 *
 *   const sshd = await startSshd({ pathPrepend: [fakeBin] });
 *   ... ssh -i sshd.identityFile -p sshd.port sshd.user@sshd.host ...
 *   await sshd.stop();
 *
 * Everything lives in one temp dir (host key, user key, authorized_keys, known_hosts,
 * sshd_config, pid file). No PAM; key login for the user running the tests (root in CI);
 * optionally a dedicated password user created with useradd/chpasswd and removed at stop.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { makeTempDir } from './tmp.js';

export interface SshdOptions {
  /** Directories put in front of the remote PATH (fake lvcreate/dd/mysqldump scripts). */
  pathPrepend?: readonly string[];
  /** Accept password logins and create a dedicated test user with this password. */
  passwordUser?: boolean;
  /** Extra sshd_config lines. */
  extraConfig?: readonly string[];
}

export interface PasswordUser {
  name: string;
  password: string;
  /** A folder the password user owns (its home), for SFTP tests. */
  home: string;
}

export interface SshdServer {
  host: string;
  port: number;
  /** The key-login user: the user running the tests. */
  user: string;
  /** Private key (no passphrase) authorised for `user` (and the password user). */
  identityFile: string;
  /** A known_hosts file holding this server's host key for `[host]:port`. */
  knownHostsFile: string;
  /** The host key line, `ssh-ed25519 AAAA...`. */
  hostKeyPublic: string;
  /** The temp dir holding the keys and config; removed by stop(). */
  dir: string;
  passwordUser?: PasswordUser;
  /** What sshd wrote to stderr (-e), for debugging failed tests. */
  log(): string;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export async function freePort(): Promise<number> {
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

/** Resolves once the port answers with an SSH banner. */
async function waitForBanner(port: number, child: ChildProcess, log: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}) before accepting connections:\n${log()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      const done = (value: boolean) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(1000, () => done(false));
      socket.on('data', (chunk: Buffer) => {
        data += chunk.toString();
        if (data.startsWith('SSH-')) done(true);
      });
      socket.on('error', () => done(false));
      socket.on('close', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not accept connections on port ${port} within ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Children of `pid` (sshd's per-connection processes run in their own sessions). */
function childPids(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}

function keygen(file: string, comment: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdio: 'ignore' });
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

export async function startSshd(options: SshdOptions = {}): Promise<SshdServer> {
  if (!findBinary(SSHD)) throw new Error(`${SSHD} not installed (apt-get install openssh-server)`);
  const tmp = await makeTempDir('br-sshd-');
  const dir = tmp.path;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const hostKey = join(dir, 'host_ed25519');
  const hostKeyPublic = keygen(hostKey, 'test-host').split(' ').slice(0, 2).join(' ');
  const identityFile = join(dir, 'id_ed25519');
  const userKey = keygen(identityFile, 'test-user');
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, `${userKey}\n`, { mode: 0o644 });

  let passwordUser: PasswordUser | undefined;
  if (options.passwordUser) {
    if (!isRoot) throw new Error('a password user needs root (useradd)');
    const name = `brt${randomBytes(4).toString('hex')}`;
    const password = `pw-${randomBytes(9).toString('base64url')}`;
    const home = join(dir, 'home');
    // The temp dir is 0700; the password user must be able to reach its home inside it.
    chmodSync(dir, 0o711);
    mkdirSync(home, { mode: 0o700 });
    execFileSync('useradd', ['-M', '-d', home, '-s', '/bin/sh', name], { stdio: 'pipe' });
    execFileSync('chpasswd', [], { input: `${name}:${password}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
    const uid = Number(execFileSync('id', ['-u', name]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', name]).toString().trim());
    chownSync(home, uid, gid);
    passwordUser = { name, password, home };
  }

  const path = [...(options.pathPrepend ?? []), DEFAULT_PATH].join(':');
  const log: string[] = [];
  const logText = () => log.join('').slice(-20_000);

  let child: ChildProcess | undefined;
  let port = 0;
  // The free port may be taken between probing and binding: retry a few times.
  for (let attempt = 0; attempt < 5; attempt++) {
    port = await freePort();
    const config = [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no',
      'UsePAM no',
      'UseDNS no',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      `PasswordAuthentication ${options.passwordUser ? 'yes' : 'no'}`,
      'KbdInteractiveAuthentication no',
      'PermitUserEnvironment no',
      'PrintMotd no',
      'LogLevel VERBOSE',
      'MaxStartups 50:30:100',
      'MaxSessions 50',
      `SetEnv PATH=${path}`,
      'Subsystem sftp internal-sftp',
      ...(options.extraConfig ?? []),
    ];
    const configFile = join(dir, 'sshd_config');
    writeFileSync(configFile, `${config.join('\n')}\n`);
    log.length = 0;
    child = spawn(SSHD, ['-D', '-e', '-f', configFile], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    try {
      await waitForBanner(port, child, logText);
      break;
    } catch (error) {
      const started = child;
      child = undefined;
      if (started.exitCode === null && started.signalCode === null) started.kill('SIGKILL');
      if (attempt === 4 || !/Address already in use|Bind to port/.test(logText())) {
        await cleanupUser(passwordUser);
        await tmp.remove();
        throw error;
      }
    }
  }
  const sshd = child as ChildProcess;

  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostKeyPublic}\n`, { mode: 0o644 });

  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    identityFile,
    knownHostsFile,
    hostKeyPublic,
    dir,
    passwordUser,
    log: logText,
    async stop() {
      if (stopped) return;
      stopped = true;
      const pid = sshd.pid;
      if (pid !== undefined && sshd.exitCode === null && sshd.signalCode === null) {
        // Connection processes left by clients that did not disconnect, then the listener's group.
        for (const child of childPids(pid)) {
          try {
            process.kill(child, 'SIGTERM');
          } catch {
            // gone already
          }
        }
        const exited = new Promise<void>((resolve) => sshd.once('exit', () => resolve()));
        try {
          process.kill(-pid, 'SIGTERM');
        } catch {
          sshd.kill('SIGTERM');
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (sshd.exitCode === null && sshd.signalCode === null) sshd.kill('SIGKILL');
      }
      await cleanupUser(passwordUser);
      await tmp.remove();
    },
  };
}

async function cleanupUser(user: PasswordUser | undefined): Promise<void> {
  if (!user) return;
  try {
    execFileSync('userdel', [user.name], { stdio: 'ignore' });
  } catch {
    // already removed
  }
}
