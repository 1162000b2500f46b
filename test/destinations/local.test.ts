import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localDestination } from '../../src/destinations/local/index.js';
import { silentLogger } from '../../src/log.js';
import { describeDestinationContract } from '../support/destination-contract.js';
import { makeTempDir } from '../support/tmp.js';

const ctx = { job: { path: '/job.json', name: 'job', hostname: 'host' }, logger: silentLogger };

function makeLocal(path: string, extra: Record<string, unknown> = {}) {
  return localDestination.create(localDestination.options.parse({ path, ...extra }) as never, ctx);
}

describeDestinationContract('local', async () => {
  const dir = await makeTempDir();
  return { destination: await makeLocal(dir.path), cleanup: dir.remove, spawn: { type: 'local', options: { path: dir.path } } };
});

describe('local destination', () => {
  it('refuses a missing folder unless create is set (an unmounted drive must not fill /)', async () => {
    const dir = await makeTempDir();
    const missing = join(dir.path, 'not-mounted');
    const d = await makeLocal(missing);
    await expect(d.check!()).rejects.toThrow(/does not exist.*mounted/);
    const created = await makeLocal(missing, { create: true });
    await created.check!();
    await dir.remove();
  });

  it('leaves no temporary file and no empty folder after a failed put', async () => {
    const dir = await makeTempDir();
    await mkdir(join(dir.path, 'a'), { recursive: true });
    const d = await makeLocal(dir.path);
    const { Readable } = await import('node:stream');
    const body = new Readable({ read() { this.destroy(new Error('boom')); } });
    await expect(d.put('a/x.bin', body, { signal: new AbortController().signal })).rejects.toThrow(/boom/);
    // Neither the temporary file nor the run folder it created stays behind.
    expect(await readdir(dir.path)).toEqual([]);
    await dir.remove();
  });
});
