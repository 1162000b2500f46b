import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sftpDestination } from '../../src/destinations/sftp/index.js';
import type { Destination } from '../../src/destinations/types.js';
import { DestinationError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { describeWith, skipUnlessCi } from '../support/binaries.js';
import { describeDestinationContract, listKeys, randomStream, sha256Of } from '../support/destination-contract.js';
import { startSshd, type SshdServer } from '../support/sshd.js';
import { makeTempDir } from '../support/tmp.js';
import { SftpDownload, SftpUpload } from '../../src/destinations/sftp/transfer.js';
import type { SFTPWrapper } from 'ssh2';
import type { SshSession } from '../../src/lib/ssh/connection.js';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { runCli } from '../support/cli.js';
import { describeTree, makeTree } from '../support/tree.js';

const ctx = { job: { path: '/job.json', name: 'job', hostname: 'host' }, logger: silentLogger };

// Every SSH session the destinations open in this process, so a test can wait for one to close.
const sessions = vi.hoisted(() => [] as SshSession[]);
vi.mock(import('../../src/lib/ssh/connection.js'), async (importOriginal) => {
  const real = await importOriginal();
  return {
    ...real,
    connectSsh: async (...args) => {
      const session = await real.connectSsh(...args);
      sessions.push(session);
      return session;
    },
  };
});

async function makeSftp(sshd: SshdServer, extra: Record<string, unknown>): Promise<Destination> {
  const options = sftpDestination.options.parse({
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    identity_file: sshd.identityFile,
    known_hosts: sshd.knownHostsFile,
    ...extra,
  });
  return sftpDestination.create({ id: 'offsite', type: 'sftp', ...options } as never, ctx);
}

async function errorOf(promise: Promise<unknown>): Promise<DestinationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DestinationError);
  return error as DestinationError;
}

describeWith(['sshd', 'ssh-keygen'], 'sftp destination', () => {
  describeDestinationContract(
    'sftp',
    async () => {
      const sshd = await startSshd();
      const store = join(sshd.dir, 'store');
      mkdirSync(store);
      const options = { host: sshd.host, port: sshd.port, user: sshd.user, identity_file: sshd.identityFile, known_hosts: sshd.knownHostsFile, path: store };
      return { destination: await makeSftp(sshd, { path: store }), cleanup: () => sshd.stop(), spawn: { type: 'sftp', options } };
    },
    { pagingObjects: 25 },
  );

  describe('sftp specifics', () => {
    let sshd: SshdServer;
    let work: { path: string; remove: () => Promise<void> };

    beforeAll(async () => {
      sshd = await startSshd({ passwordUser: process.getuid?.() === 0 });
      work = await makeTempDir();
    });
    afterAll(async () => {
      await sshd?.stop();
      await work?.remove();
    });

    it('stores under the folder, leaves no temporary file, and removes emptied run folders', async () => {
      const store = join(work.path, 'layout');
      mkdirSync(store);
      const d = await makeSftp(sshd, { path: store });
      try {
        await d.put('db/20240101000000/db.sql.zst.gpg', Readable.from([Buffer.from('one')]), { signal: new AbortController().signal });
        await d.put('db/20240101000000/db.manifest.json', Readable.from([Buffer.from('{}')]), { signal: new AbortController().signal });
        expect(readdirSync(join(store, 'db/20240101000000')).sort()).toEqual(['db.manifest.json', 'db.sql.zst.gpg']);
        await d.delete(['db/20240101000000/db.sql.zst.gpg', 'db/20240101000000/db.manifest.json']);
        expect(readdirSync(store)).toEqual([]);
      } finally {
        await d.close?.();
      }
    });

    it('refuses a missing folder unless create is set', async () => {
      const missing = join(work.path, 'not-mounted/backups');
      const d = await makeSftp(sshd, { path: missing });
      const error = await errorOf(d.check!());
      expect(error.message).toMatch(/not-mounted\/backups does not exist on 127\.0\.0\.1 .*"create": 1/);
      await d.close?.();
      const created = await makeSftp(sshd, { path: missing, create: 1 });
      await created.check!();
      await created.close?.();
      expect(readdirSync(join(work.path, 'not-mounted'))).toEqual(['backups']);
    });

    it('logs in with a password and stores as that user', async (t) => {
      if (!sshd.passwordUser) skipUnlessCi(t, 'a password login needs root here (useradd)');
      const user = sshd.passwordUser!;
      const d = await makeSftp(sshd, { user: user.name, identity_file: undefined, password: user.password, path: 'store', create: 1 });
      try {
        await d.check!();
        const { stream, sha256 } = randomStream(3 * 1024 * 1024, 11);
        await d.put('p/1/x.bin', stream, { signal: new AbortController().signal });
        expect((await sha256Of(await d.get('p/1/x.bin'))).sha256).toBe(await sha256);
        expect(await listKeys(d, 'p/')).toEqual(['p/1/x.bin']);
        expect(readdirSync(join(user.home, 'store/p/1'))).toEqual(['x.bin']);
      } finally {
        await d.close?.();
      }
    });

    it('names the destination and the user on a wrong password, without the password', async (t) => {
      if (!sshd.passwordUser) skipUnlessCi(t, 'a password login needs root here (useradd)');
      const d = await makeSftp(sshd, { user: sshd.passwordUser!.name, identity_file: undefined, password: 'wrong-password-123', path: 'store' });
      const error = await errorOf(d.check!());
      expect(error.plugin).toBe('offsite');
      expect(error.describe()).toMatch(new RegExp(`^destination offsite: SSH login as ${sshd.passwordUser!.name}@127\\.0\\.0\\.1:${sshd.port} failed \\(tried password\\)`));
      expect(error.describe()).not.toContain('wrong-password-123');
    });

    it('names the destination on a key the server does not accept', async () => {
      const key = join(work.path, 'stranger');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      const error = await errorOf((await makeSftp(sshd, { identity_file: key, path: work.path })).check!());
      expect(error.describe()).toMatch(/^destination offsite: SSH login as .* failed \(tried key .*stranger\)/);
    });

    it('gives a clear error for an unreachable port', async () => {
      const { freePort } = await import('../support/sshd.js');
      const port = await freePort();
      const error = await errorOf((await makeSftp(sshd, { port, path: work.path })).list('x/')[Symbol.asyncIterator]().next());
      expect(error.describe()).toBe(`destination offsite: cannot connect to 127.0.0.1:${port}: connection refused (is the SSH server running there, and is the port right?)`);
    });

    it('refuses an unknown host key and says how to accept it', async () => {
      const knownHosts = join(work.path, 'empty_known_hosts');
      writeFileSync(knownHosts, '');
      const error = await errorOf((await makeSftp(sshd, { known_hosts: knownHosts, path: work.path })).check!());
      expect(error.message).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${knownHosts}`);
    });

    it('refuses a missing known_hosts file with the command to create it', async () => {
      const knownHosts = join(work.path, 'no_such_known_hosts');
      const error = await errorOf((await makeSftp(sshd, { known_hosts: knownHosts, path: work.path })).check!());
      expect(error.message).toMatch(/known_hosts file .*no_such_known_hosts does not exist.*ssh-keyscan -p \d+ 127\.0\.0\.1 >> /);
    });

    it('end to end: the runner stores a folder on the SFTP server and restores it from there', async () => {
      const tree = join(work.path, 'e2e-data');
      await makeTree(tree);
      const store = join(work.path, 'e2e-store');
      mkdirSync(store);
      const jobPath = join(work.path, 'sftp-job.json');
      writeFileSync(
        jobPath,
        JSON.stringify({
          hostname: 'h',
          tmpdir: join(work.path, 'e2e-tmp'),
          state_dir: join(work.path, 'e2e-state'),
          sources: [{ id: 'etc', type: 'folder', path: tree, passphrase: 'sftp-e2e-passphrase' }],
          destinations: [
            { id: 'offsite', type: 'sftp', host: sshd.host, port: sshd.port, user: sshd.user, identity_file: sshd.identityFile, known_hosts: sshd.knownHostsFile, path: store, retention_copies: 2 },
          ],
          notifications: [],
        }),
      );
      const run = await runCli(['run', jobPath]);
      expect(run.code, run.stderr).toBe(0);
      const runs = readdirSync(join(store, 'etc'));
      expect(runs).toHaveLength(1);
      expect(readdirSync(join(store, 'etc', runs[0]!)).sort()).toEqual(['etc.manifest.json', 'etc.tar.zst.gpg']);
      const out = join(work.path, 'e2e-restored');
      const restore = await runCli(['restore', jobPath, '--source', 'etc', '--to', out, '--extract']);
      expect(restore.code, restore.stderr).toBe(0);
      expect(await describeTree(join(out, 'e2e-data'))).toEqual(await describeTree(tree));
    }, 120_000);

    it('reconnects after the server dropped the connection', async () => {
      const store = join(work.path, 'reconnect');
      mkdirSync(store);
      const d = await makeSftp(sshd, { path: store });
      try {
        await d.put('a/1/f', Readable.from([Buffer.from('x')]), { signal: new AbortController().signal });
        const dropped = new Promise((resolve) => sessions.at(-1)!.client.once('close', () => resolve(undefined)));
        // Kill this connection's server process: the next call must open a new one.
        const { readdirSync: rd, readFileSync: rf } = await import('node:fs');
        let killed = 0;
        for (const pid of rd('/proc').filter((p) => /^\d+$/.test(p))) {
          try {
            const cmd = rf(`/proc/${pid}/cmdline`, 'utf8');
            const stat = rf(`/proc/${pid}/stat`, 'utf8');
            const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
            const listener = Number(rf(join(sshd.dir, 'sshd.pid'), 'utf8').trim());
            if (ppid === listener && cmd.startsWith('sshd')) {
              process.kill(Number(pid), 'SIGTERM');
              killed++;
            }
          } catch {
            // not ours or gone
          }
        }
        expect(killed).toBeGreaterThan(0);
        await dropped;
        const opened = sessions.length;
        expect(await listKeys(d, 'a/')).toEqual(['a/1/f']);
        expect(sessions).toHaveLength(opened + 1);
      } finally {
        await d.close?.();
      }
    });
  });
});

describe('pipelined SFTP transfers', () => {
  /**
   * A stand-in for ssh2's SFTPWrapper: answers out of order, with short reads, as servers may.
   * The same every time: the requests made in one turn of the event loop are answered on the
   * next, last first, and every third read is short.
   */
  function fakeSftp(file: Buffer, options: { failWriteAt?: number } = {}) {
    const written = Buffer.alloc(file.length);
    let writes = 0;
    let reads = 0;
    const pending: (() => void)[] = [];
    const later = (fn: () => void) => {
      if (pending.push(fn) === 1) setImmediate(() => pending.splice(0).reverse().forEach((answer) => answer()));
    };
    const sftp = {
      read(_h: Buffer, buffer: Buffer, offset: number, length: number, position: number, cb: (e: Error | undefined, n: number) => void) {
        const short = reads++ % 3 === 1;
        later(() => {
          const available = Math.max(0, Math.min(length, file.length - position));
          const n = available > 1 && short ? Math.ceil(available / 3) : available;
          file.copy(buffer, offset, position, position + n);
          cb(undefined, n);
        });
      },
      write(_h: Buffer, buffer: Buffer, offset: number, length: number, position: number, cb: (e?: Error) => void) {
        const index = writes++;
        later(() => {
          if (options.failWriteAt !== undefined && index === options.failWriteAt) return cb(new Error('Failure (disk full)'));
          buffer.copy(written, position, offset, offset + length);
          cb();
        });
      },
      close(_h: Buffer, cb: () => void) {
        later(cb);
      },
    };
    return { sftp: sftp as unknown as SFTPWrapper, written };
  }

  it('reassembles short and out-of-order reads in order', async () => {
    const file = randomBytes(1_234_567);
    const { sftp } = fakeSftp(file);
    const chunks: Buffer[] = [];
    for await (const chunk of new SftpDownload(sftp, Buffer.from('h'), file.length, 32 * 1024)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(file)).toBe(true);
  });

  it('writes every block at its offset, and reports a failed write', async () => {
    const file = randomBytes(3_000_001);
    const target = fakeSftp(Buffer.alloc(file.length));
    const upload = new SftpUpload(target.sftp, Buffer.from('h'), 32 * 1024);
    await pipeline(Readable.from([file.subarray(0, 1_000_000), file.subarray(1_000_000)]), upload);
    expect(upload.bytesWritten).toBe(file.length);
    expect(target.written.equals(file)).toBe(true);
    const failing = fakeSftp(Buffer.alloc(file.length), { failWriteAt: 20 });
    await expect(pipeline(Readable.from([file]), new SftpUpload(failing.sftp, Buffer.from('h'), 32 * 1024))).rejects.toThrow(/disk full/);
  });
});
