/**
 * Folder sources count the bytes tar writes (its `--totals` line) while tar's stdout still
 * goes straight to the consumer, for the local `folder` and the remote `folder-ssh`; the
 * totals line stays out of warnings and error tails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BackupError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { folderSource } from '../../src/sources/folder/index.js';
import { folderSshSource } from '../../src/sources/folder-ssh/index.js';
import type { Source, SourceContext } from '../../src/sources/types.js';
import { describeWith } from '../support/binaries.js';
import { startSshd, type SshdServer } from '../support/sshd.js';
import { makeTempDir } from '../support/tmp.js';

const job = { path: '/job.json', name: 'job', hostname: 'host' };

interface Dumped {
  bytes: number;
  rawBytes?: number;
  warnings: string[];
  error?: unknown;
}

async function dumpOne(source: Source, tmpdir: string): Promise<Dumped> {
  const ctx: SourceContext = { job, tmpdir, logger: silentLogger, signal: new AbortController().signal };
  try {
    for await (const artifact of source.open(ctx)) {
      let bytes = 0;
      for await (const chunk of artifact.stream) bytes += (chunk as Buffer).length;
      const error = await artifact.done.then(
        () => undefined,
        (e: unknown) => e,
      );
      return { bytes, rawBytes: artifact.rawBytes?.(), warnings: artifact.warnings ?? [], error };
    }
  } finally {
    await source.cleanup?.(ctx);
  }
  throw new Error('no artifact');
}

/** A tar that writes a partial archive, then says a file changed (exit 1) or fails (exit 2). */
function fakeTar(dir: string, exitCode: number): string {
  const path = join(dir, `tar-exit-${exitCode}`);
  writeFileSync(
    path,
    `#!/bin/sh\nhead -c 20480 /dev/zero\necho "tar: ./data/log: file changed as we read it" >&2\necho "Total bytes written: 20480 (20KiB, 1.0MiB/s)" >&2\nexit ${exitCode}\n`,
    { mode: 0o755 },
  );
  return path;
}

describeWith(['tar', 'sshd', 'ssh-keygen'], 'raw bytes of folder sources', () => {
  let work: { path: string; remove: () => Promise<void> };
  let sshd: SshdServer;
  let data: string;
  beforeAll(async () => {
    work = await makeTempDir();
    data = join(work.path, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'a.txt'), 'x'.repeat(70_000));
    writeFileSync(join(data, 'b.bin'), Buffer.alloc(123_457, 7));
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
    await work?.remove();
  });

  const local = async (extra: Record<string, unknown> = {}) =>
    (await folderSource.create({ id: 'files', type: 'folder', ...folderSource.options.parse({ path: data, ...extra }) } as never, { job, logger: silentLogger })) as Source;
  const remote = async (extra: Record<string, unknown> = {}) =>
    (await folderSshSource.create(
      {
        id: 'files',
        type: 'folder-ssh',
        ...folderSshSource.options.parse({ sshhost: sshd.host, sshport: sshd.port, sshuser: sshd.user, identity_file: sshd.identityFile, known_hosts: sshd.knownHostsFile, path: data, ...extra }),
      } as never,
      { job, logger: silentLogger },
    )) as Source;

  it('folder and folder-ssh report the bytes tar wrote, equal to the bytes streamed', async () => {
    for (const source of [await local(), await remote()]) {
      const dumped = await dumpOne(source, work.path);
      expect(dumped.error).toBeUndefined();
      expect(dumped.bytes).toBeGreaterThan(190_000);
      expect(dumped.rawBytes).toBe(dumped.bytes);
    }
  });

  it('the totals line stays out of warnings and failure tails', async () => {
    for (const make of [local, remote]) {
      const warned = await dumpOne(await make({ tar_command: fakeTar(work.path, 1) }), work.path);
      expect(warned.error).toBeUndefined();
      expect(warned.rawBytes).toBe(20480);
      expect(warned.warnings).toHaveLength(1);
      expect(warned.warnings[0]).toMatch(/^tar .*exited 1: tar: \.\/data\/log: file changed as we read it$/);

      const failed = await dumpOne(await make({ tar_command: fakeTar(work.path, 2) }), work.path);
      expect(failed.error).toBeInstanceOf(BackupError);
      expect((failed.error as BackupError).describe()).toMatch(/tar .*exited 2: tar: \.\/data\/log: file changed as we read it$/);
    }
  });
});
