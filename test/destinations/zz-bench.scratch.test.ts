import { it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sftpDestination } from '../../src/destinations/sftp/index.js';
import type { Destination } from '../../src/destinations/types.js';
import { silentLogger } from '../../src/log.js';
import { randomStream, sha256Of } from '../support/destination-contract.js';
import { startSshd } from '../support/sshd.js';
import { readFileSync } from 'node:fs';

it('bench', async () => {
  const s = await startSshd();
  const store = join(s.dir, 'store'); mkdirSync(store);
  const d = sftpDestination.create({ id: 'x', type: 'sftp', ...sftpDestination.options.parse({ host: s.host, port: s.port, user: s.user, identity_file: s.identityFile, known_hosts: s.knownHostsFile, path: store }) } as never, { job: { path: '/j', name: 'j', hostname: 'h' }, logger: silentLogger }) as Destination;
  const size = 500 * 1048576;
  for (let i = 0; i < 2; i++) {
    const { stream } = randomStream(size, 3);
    let t0 = Date.now();
    await d.put(`b/${i}/f`, stream, { signal: new AbortController().signal });
    console.log(`pipelined put: ${(size / 1048576 / ((Date.now() - t0) / 1000)).toFixed(0)} MiB/s`);
    t0 = Date.now();
    await sha256Of(await d.get(`b/${i}/f`));
    console.log(`pipelined get: ${(size / 1048576 / ((Date.now() - t0) / 1000)).toFixed(0)} MiB/s`);
  }
  // ssh2's own streams for comparison
  const { Client } = await import('ssh2');
  const c = new Client();
  await new Promise<void>((res, rej) => c.on('ready', () => res()).on('error', rej).connect({ host: s.host, port: s.port, username: s.user, privateKey: readFileSync(s.identityFile) }));
  const sftp = await new Promise<import('ssh2').SFTPWrapper>((res, rej) => c.sftp((e, x) => (e ? rej(e) : res(x))));
  for (let i = 0; i < 2; i++) {
    const { stream } = randomStream(size, 3);
    let t0 = Date.now();
    await new Promise<void>((res, rej) => { const w = sftp.createWriteStream(join(store, `plain${i}`)); w.on('close', () => res()); w.on('error', rej); stream.pipe(w); });
    console.log(`ssh2 createWriteStream: ${(size / 1048576 / ((Date.now() - t0) / 1000)).toFixed(0)} MiB/s`);
    t0 = Date.now();
    await sha256Of(sftp.createReadStream(join(store, `plain${i}`)));
    console.log(`ssh2 createReadStream: ${(size / 1048576 / ((Date.now() - t0) / 1000)).toFixed(0)} MiB/s`);
  }
  c.end();
  await d.close!();
  await s.stop();
}, 600_000);
