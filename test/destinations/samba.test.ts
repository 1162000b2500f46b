import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sambaDestination } from '../../src/destinations/samba/index.js';
import { unsafeNameProblem } from '../../src/destinations/samba/names.js';
import { parseRecursiveListing } from '../../src/destinations/samba/smbclient.js';
import type { Destination } from '../../src/destinations/types.js';
import { DestinationError, describeError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { describeWith } from '../support/binaries.js';
import { abortingStream, describeDestinationContract, failingStream, listKeys, randomStream, sha256Of } from '../support/destination-contract.js';
import { SMBD_BINARIES, startSmbd, type SmbdServer } from '../support/smbd.js';

const ctx = { job: { path: '/job.json', name: 'job', hostname: 'host' }, logger: silentLogger };

function makeSamba(smb: SmbdServer, extra: Record<string, unknown> = {}): Promise<Destination> {
  const options = sambaDestination.options.parse({
    host: smb.host,
    port: smb.port,
    share: smb.share,
    workgroup: smb.workgroup,
    credentials: { username: smb.username, password: smb.password },
    ...extra,
  });
  const full = { id: 'bigshare', type: 'samba', ...options } as never;
  expect(sambaDestination.problems!(full)).toEqual([]);
  return Promise.resolve(sambaDestination.create(full, ctx));
}

/** Every file under a folder on this machine, relative, "/"-separated. */
async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(`${rel}/`, ...(await filesUnder(join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

describe('smbclient output parsing', () => {
  it('reads a recursive listing with spaces in names and folder headings', () => {
    const output = [
      '  .                                   D        0  Sun Nov 22 01:23:13 2026',
      '  ..                                  D        0  Sun Nov 22 01:23:12 2026',
      '  top file.txt                        A        6  Sun Nov 22 01:23:13 2026',
      '  c d                                 D        0  Sun Nov 22 01:23:13 2026',
      '  a-name-that-is-longer-than-the-thirty-char-column.sql.zst.gpg      A 123456789  Mon Jan  5 09:03:07 2026',
      '',
      '\\a b\\c d',
      '  .                                   D        0  Sun Nov 22 01:23:13 2026',
      '  f 1  A.txt                          A        5  Sun Nov 22 01:23:13 2026',
      '',
      '\t\t264212084 blocks of size 1024. 82609060 blocks available',
    ].join('\n');
    expect(parseRecursiveListing(output, 'a b').map(({ path, size }) => ({ path, size }))).toEqual([
      { path: 'a b/top file.txt', size: 6 },
      { path: 'a b/a-name-that-is-longer-than-the-thirty-char-column.sql.zst.gpg', size: 123456789 },
      { path: 'a b/c d/f 1  A.txt', size: 5 },
    ]);
    expect(parseRecursiveListing(output, 'a b')[1]!.lastModified!.getFullYear()).toBe(2026);
  });

  it('refuses names smbclient cannot pass through its command line', () => {
    expect(unsafeNameProblem('db/20260101000000/db.sql.zst.gpg')).toBeUndefined();
    expect(unsafeNameProblem('db/with space/x')).toBeUndefined();
    for (const bad of ['a"b', 'a;b', 'a\\b', 'a*b', '/abs', 'a//b', 'a/../b', 'a\nb']) expect(unsafeNameProblem(bad)).toBeDefined();
  });
});

describeWith(SMBD_BINARIES, 'samba destination against smbd', () => {
  describeDestinationContract('samba', async () => {
    const smb = await startSmbd();
    const options = { host: smb.host, port: smb.port, share: smb.share, workgroup: smb.workgroup, credentials: { username: smb.username, password: smb.password } };
    return { destination: await makeSamba(smb), cleanup: () => smb.stop(), spawn: { type: 'samba', options } };
  }, { credentialsInTempFolder: true });

  describe('samba extras', () => {
    let smb: SmbdServer;
    let d: Destination;

    beforeAll(async () => {
      smb = await startSmbd();
      d = await makeSamba(smb, { path: 'backups/web1', suffix: 'gpg' });
    }, 60_000);
    afterAll(async () => {
      await smb?.stop();
    });

    it('stores inside "path", lists relative keys (spaces too), and removes folders left empty', async () => {
      const keys = ['db/20260101000000/db.sql.zst.gpg', 'db/20260101000000/db.manifest.json', 'site/2026 01 02/my file.tar.gpg'];
      for (const key of keys) await d.put(key, Readable.from([Buffer.from(key)]), { signal: new AbortController().signal });
      expect(await filesUnder(smb.shareDir)).toEqual([
        'backups/',
        'backups/web1/',
        'backups/web1/db/',
        'backups/web1/db/20260101000000/',
        'backups/web1/db/20260101000000/db.manifest.json',
        'backups/web1/db/20260101000000/db.sql.zst.gpg',
        'backups/web1/site/',
        'backups/web1/site/2026 01 02/',
        'backups/web1/site/2026 01 02/my file.tar.gpg',
      ]);
      expect(await listKeys(d, '')).toEqual([...keys].sort());
      expect(await listKeys(d, 'site/')).toEqual(['site/2026 01 02/my file.tar.gpg']);
      expect((await sha256Of(await d.get('site/2026 01 02/my file.tar.gpg'))).size).toBe(keys[2]!.length);
      await d.delete(keys);
      // The run folders went; the configured folder itself stays.
      expect(await filesUnder(smb.shareDir)).toEqual(['backups/', 'backups/web1/']);
    });

    it('leaves no temporary file when the stream fails or the put is aborted', async () => {
      await expect(d.put('fail/a.bin', failingStream(3 * 1024 * 1024), { signal: new AbortController().signal })).rejects.toThrow(
        /storing fail\/a.bin failed: the data stream failed \(source failed mid-stream\); nothing was stored/,
      );
      const controller = new AbortController();
      const stream = abortingStream(controller, new Error('dump failed'));
      await expect(d.put('fail/b.bin', stream, { signal: controller.signal })).rejects.toThrow(/upload aborted \(dump failed\)/);
      expect((await filesUnder(smb.shareDir)).filter((f) => !f.endsWith('/'))).toEqual([]);
    });

    it('passes the password in a 0600 file, never in smbclient\'s arguments', async () => {
      let sent = false;
      const stalled = new Readable({
        read() {
          if (!sent) this.push(Buffer.from('first bytes'));
          sent = true;
        },
      });
      const controller = new AbortController();
      const putting = d.put('argv/x.bin', stalled, { signal: controller.signal }).catch((e: unknown) => e);
      let seen: { cmdline: string[]; authMode: number; authText: string } | undefined;
      for (let i = 0; i < 100 && !seen; i++) {
        await new Promise((r) => setTimeout(r, 50));
        for (const pid of await readdir('/proc')) {
          if (!/^\d+$/.test(pid)) continue;
          const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
          if (!cmdline[0]?.endsWith('smbclient') || !cmdline.includes(String(smb.port))) continue;
          const authFile = cmdline[cmdline.indexOf('-A') + 1]!;
          const info = await stat(authFile).catch(() => undefined);
          if (!info) continue;
          seen = { cmdline, authMode: info.mode & 0o777, authText: await readFile(authFile, 'utf8') };
        }
      }
      controller.abort(new Error('test done'));
      expect(await putting).toBeInstanceOf(DestinationError);
      expect(seen).toBeDefined();
      expect(seen!.cmdline.join(' ')).not.toContain(smb.password);
      expect(seen!.authMode).toBe(0o600);
      expect(seen!.authText).toContain(`password = ${smb.password}`);
    });

    it('accepts the flat username/password form', async () => {
      const flat = await makeSamba(smb, { credentials: undefined, username: smb.username, password: smb.password });
      await flat.check!();
    });

    it('rejects both credential forms at once', () => {
      const options = sambaDestination.options.parse({ host: 'h', share: 's', credentials: { username: 'u', password: 'p' }, username: 'u' });
      expect(sambaDestination.problems!({ id: 'x', type: 'samba', ...options } as never)).toEqual([
        { key: 'credentials', message: 'give either credentials.username/password or username/password, not both' },
      ]);
    });

    it('wrong password: clear rejection naming the destination, without the password', async () => {
      const wrong = 'Wr0ng-pass-never-printed';
      const bad = await makeSamba(smb, { credentials: { username: smb.username, password: wrong } });
      const error = await bad.check!().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DestinationError);
      const text = describeError(error);
      expect(text).toMatch(/^destination bigshare: connecting to \/\/127\.0\.0\.1\/backups failed: 127\.0\.0\.1:\d+ refused the login of user "brsmbtest" \(NT_STATUS_LOGON_FAILURE\)/);
      expect(text).not.toContain(wrong);
      const putError = await bad.put('x/y.bin', Readable.from([Buffer.from('x')]), { signal: new AbortController().signal }).catch((e: unknown) => e);
      expect(describeError(putError)).toMatch(/^destination bigshare: storing x\/y.bin failed: .*NT_STATUS_LOGON_FAILURE/);
      expect(describeError(putError)).not.toContain(wrong);
      // A larger stream: smbclient quits while data is still coming (EPIPE on its stdin).
      const bigError = await bad.put('x/big.bin', randomStream(16 * 1024 * 1024).stream, { signal: new AbortController().signal }).catch((e: unknown) => e);
      expect(describeError(bigError)).toMatch(/^destination bigshare: storing x\/big.bin failed: .*refused the login.*NT_STATUS_LOGON_FAILURE/);
      // A stalled source must not keep a refused put waiting.
      const stalled = new Readable({ read() {} });
      const stalledError = await bad.put('x/stalled.bin', stalled, { signal: new AbortController().signal }).catch((e: unknown) => e);
      expect(describeError(stalledError)).toMatch(/NT_STATUS_LOGON_FAILURE/);
    });

    it('unknown share: says so', async () => {
      const bad = await makeSamba(smb, { share: 'nosuchshare' });
      await expect(bad.check!()).rejects.toThrow(/share "nosuchshare" does not exist on 127\.0\.0\.1/);
    });

    it('unreachable server: clear error naming host and port', async () => {
      const closed = await startSmbdPortThatIsClosed();
      const bad = await makeSamba(smb, { port: closed });
      const error = await bad.check!().catch((e: unknown) => e);
      expect(describeError(error)).toMatch(new RegExp(`^destination bigshare: connecting to //127\\.0\\.0\\.1/backups failed: cannot reach 127\\.0\\.0\\.1:${closed} \\(NT_STATUS_CONNECTION_REFUSED\\)`));
    });
  });
});

/** A loopback port nothing listens on. */
async function startSmbdPortThatIsClosed(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
