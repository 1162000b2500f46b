/**
 * A file with holes (a VM disk image, a sparse database file) is stored with its map of holes
 * and restored with its holes: the restore takes the disk space the original took, not the
 * file's full length. Through the built CLI: run, files, verify --spot, restore --extract and
 * restore --path.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';

const MiB = 1 << 20;
const LENGTH = 256 * MiB;

/** 256 MiB long, 8 KiB of data at three places, holes elsewhere. */
async function writeSparseFile(path: string): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (const at of [0, 100 * MiB + 12345, LENGTH - 4096]) await file.write(Buffer.alloc(4096, `data at ${at};`), 0, 4096, at);
    await file.truncate(LENGTH);
  } finally {
    await file.close();
  }
}

const allocated = async (path: string) => (await stat(path)).blocks * 512;
const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

describeWith(['zstd', 'tar'], 'folder source: sparse files keep their holes', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let job: string;
  let image: string;

  beforeAll(async () => {
    tmp = await makeTempDir();
    const data = join(tmp.path, 'data');
    await mkdir(data);
    image = join(data, 'disk.img');
    await writeSparseFile(image);
    job = await writeJob(tmp.path, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: 'sparse test passphrase' }],
      destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store'), create: 1 }],
    });
  });
  afterAll(async () => {
    await tmp?.remove();
  });

  it('restores a 256 MiB file with 12 KiB of data in well under a MiB of disk, byte for byte', async () => {
    // The premise: this file system makes holes (else the test would prove nothing).
    expect(await allocated(image)).toBeLessThan(MiB);

    const run = await runCli(['-v', job]);
    expect(run.code, run.stderr).toBe(0);

    const files = await runCli(['files', job, '--source', 'data']);
    expect(files.code, files.stderr).toBe(0);
    expect(files.stdout).toMatch(new RegExp(`\\b${LENGTH}\\b.*data/disk\\.img`));

    const spot = await runCli(['verify', job, '--spot', '5', '--spot-tolerance', '0']);
    expect(spot.code, spot.stdout + spot.stderr).toBe(0);

    for (const [label, extra] of [
      ['whole', []],
      ['path', ['--path', 'data/disk.img']],
    ] as const) {
      const to = join(tmp.path, `restored-${label}`);
      const restored = await runCli(['restore', job, '--to', to, '--extract', ...extra]);
      expect(restored.code, restored.stderr).toBe(0);
      const copy = join(to, 'data', 'disk.img');
      expect((await stat(copy)).size).toBe(LENGTH);
      expect(await allocated(copy), `${label}: restored with its holes`).toBeLessThan(MiB);
      expect(await sha256(copy)).toBe(await sha256(image));
    }
  });
});
