/**
 * Restore reads back with suspicion (issue 10, failures 6 and 7): to stdout, a damaged file
 * is refused before a byte when its size is wrong, and reported as corrupt output when the
 * damage shows only at the end; a reader that closes early is an incomplete restore. Into a
 * folder, an interrupted extraction leaves nothing behind, a leftover of kill -9 is swept by
 * the next restore, and a folder that is not empty is refused without --force.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdir, open, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli, runShellWithCli } from '../support/cli.js';
import { freeze, mountTmpfs, startCli, thaw, waitForEntry } from '../support/faults.js';
import { filesUnder } from '../support/files.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';

const bash = (shell: string) => runShellWithCli(shell);

describeWith(['tar', 'zstd', 'bash', 'head'], 'restore with suspicion', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let job: string;
  let store: string;
  let stored: string;

  beforeAll(async () => {
    tmp = await makeTempDir();
    const data = join(tmp.path, 'data');
    await mkdir(data);
    // Large enough that a restore is still extracting when the test looks.
    for (let i = 0; i < 6; i++) await writeFile(join(data, `f${i}.bin`), randomBytes(4 * 1024 * 1024));
    store = join(tmp.path, 'store');
    job = await writeJob(tmp.path, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: 'restore suspicion 3b9d' }],
      destinations: [{ id: 'disk', type: 'local', path: store, create: 1 }],
    });
    const run = await runCli([job]);
    expect(run.code, run.stderr).toBe(0);
    stored = join(store, (await filesUnder(store)).find((f) => f.endsWith('data.tar.zst.gpg'))!);
  });
  afterAll(async () => {
    await tmp?.remove();
  });

  /** Flips the bits of `mask` in one byte of `file`, at the offset `at` gives for its size. */
  async function flipByte(file: string, at: (size: number) => number, mask: number): Promise<void> {
    const handle = await open(file, 'r+');
    try {
      const offset = at((await handle.stat()).size);
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, offset);
      byte[0] = byte[0]! ^ mask;
      await handle.write(byte, 0, 1, offset);
    } finally {
      await handle.close();
    }
  }

  /** Runs `body` with the stored file damaged, then puts the good copy back. */
  async function withDamage(damage: (file: string) => Promise<void>, body: () => Promise<void>): Promise<void> {
    const good = `${tmp.path}/good-copy`;
    await cp(stored, good);
    try {
      await damage(stored);
      await body();
    } finally {
      await cp(good, stored);
    }
  }

  describe('--to -', () => {
    it('refuses a stored file whose size differs from the manifest before writing a byte', async () => {
      await withDamage(
        (file) => appendFile(file, 'x'),
        async () => {
          // The run asked for by name, so the restore itself must catch the damage.
          const runKey = stored.split('/').at(-2)!;
          const result = await runCli(['restore', job, '--to', '-', '--run', runKey]);
          expect(result.code, result.stderr).toBe(1);
          expect(result.stdout).toBe('');
          expect(result.stderr).toMatch(/size \d+ differs from the manifest's \d+/);
          expect(result.stderr.split('\n').filter((l) => l.startsWith('backup:'))).toHaveLength(1);
        },
      );
    });

    it('says the output is corrupt when a flipped byte shows only at the end', async () => {
      await withDamage(
        (file) => flipByte(file, (size) => size - 100, 0xff),
        async () => {
          const result = await runCli(['restore', job, '--to', '-']);
          expect(result.code).toBe(1);
          expect(result.stdout.length).toBeGreaterThan(0);
          const lines = result.stderr.split('\n').filter((l) => l.startsWith('backup:'));
          expect(lines, result.stderr).toHaveLength(1);
          expect(lines[0]).toMatch(/written to stdout are corrupt and must be discarded/);
        },
      );
    });

    it('| head -c 1M: the reader closing early is an incomplete restore, not a success', async () => {
      const result = await bash(`$BACKUP restore '${job}' --to - | head -c 1048576 | wc -c; echo "exit=\${PIPESTATUS[0]}" >&2`);
      expect(result.stdout.trim()).toBe('1048576');
      expect(result.stderr).toMatch(/exit=1\b/);
      expect(result.stderr).toMatch(/reader closed stdout .*the restore is incomplete/);
    });
  });

  describe('--extract --to DIR', () => {
    it('SIGTERM while extracting removes the staging folder, says so, and exits 143', async () => {
      const dir = join(tmp.path, 'restore-term');
      const runner = startCli(['restore', job, '--to', dir, '--extract']);
      // Hold the restore still once it extracts, so the signal lands in the middle of it.
      await waitForEntry(runner, dir, /^\.restoring-[^/]+\/data\/f/);
      freeze(runner.pid);
      process.kill(runner.pid, 'SIGTERM');
      thaw(runner.pid);
      const result = await runner.exited;
      expect(result.code, result.stderr).toBe(143);
      expect(result.stderr).toMatch(/restore interrupted by SIGTERM: nothing was written/);
      expect(await readdir(dir)).toEqual([]);
    });

    it('the next restore removes the staging folder a kill -9 left, then restores', async () => {
      const dir = join(tmp.path, 'restore-kill');
      const runner = startCli(['restore', job, '--to', dir, '--extract']);
      const staging = await waitForEntry(runner, dir, /^\.restoring-[^/]+\/data\/f/);
      process.kill(runner.pid, 'SIGKILL');
      await runner.exited;
      const left = staging.split('/')[0]!;
      expect(await readdir(dir)).toContain(left);

      const again = await runCli(['restore', job, '--to', dir, '--extract']);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain(`removed ${join(dir, left)}`);
      expect(await readdir(dir)).toEqual(['data']);
    });

    // zstd writes straight into tar here: tar may unpack a whole archive before the checks at
    // the end of the file are done, so nothing may leave the staging folder until they passed.
    it('a stored file swapped for another whole archive of the same size: tar unpacks it, the sha256 stops it, nothing reaches DIR', async () => {
      const runKey = stored.split('/').at(-2)!;
      const second = await runCli([job]);
      expect(second.code, second.stderr).toBe(0);
      const other = join(store, (await filesUnder(store)).find((f) => f.endsWith('data.tar.zst.gpg') && !f.includes(runKey))!);
      expect((await readFile(other)).length).toBe((await readFile(stored)).length);
      await withDamage(
        (file) => cp(other, file),
        async () => {
          const dir = join(tmp.path, 'restore-swapped');
          const result = await runCli(['restore', job, '--to', dir, '--extract', '--run', runKey]);
          expect(result.code, result.stderr).toBe(1);
          expect(result.stderr).toMatch(/sha256 differs from the manifest/);
          expect(await readdir(dir)).toEqual([]);
        },
      );
    });

    it('a flipped byte in the middle: exit 1 with the damage named (not the SIGTERM that stopped zstd), nothing in DIR', async () => {
      await withDamage(
        (file) => flipByte(file, (size) => Math.floor(size / 2), 0x20),
        async () => {
          const dir = join(tmp.path, 'restore-flipped');
          const result = await runCli(['restore', job, '--to', dir, '--extract', '--run', stored.split('/').at(-2)!]);
          expect(result.code, result.stderr).toBe(1);
          expect(result.stderr).toMatch(/sha256 differs from the manifest|modification detected|zstd -d exited/);
          expect(result.stderr).not.toMatch(/killed by SIGTERM/);
          expect(await readdir(dir)).toEqual([]);
        },
      );
    });

    it('a full disk under DIR: tar -x and "no space" are named (not zstd losing its reader), nothing is left', async () => {
      const disk = await mountTmpfs(join(tmp.path, 'small-disk'), 2 * 1024 * 1024);
      if (!disk) throw new Error('mount -t tmpfs refused: this test needs root and a kernel that allows tmpfs mounts');
      try {
        const dir = join(disk.path, 'restore');
        const result = await runCli(['restore', job, '--to', dir, '--extract']);
        expect(result.code, result.stderr).toBe(1);
        expect(result.stderr).toMatch(/tar -x exited \d+.*No space left on device/);
        expect(result.stderr).not.toMatch(/SIGPIPE|zstd -d/);
        expect(await readdir(dir)).toEqual([]);
      } finally {
        await disk.unmount();
      }
    });

    it('refuses a folder that is not empty, and merges into it with --force', async () => {
      const dir = join(tmp.path, 'restore-nonempty');
      await mkdir(join(dir, 'data'), { recursive: true });
      await writeFile(join(dir, 'data', 'f0.bin'), 'old');
      await writeFile(join(dir, 'data', 'mine.txt'), 'kept');
      // A folder where the backup has a file: replaced too (the kinds differ, so it is removed first).
      await mkdir(join(dir, 'data', 'f1.bin', 'inner'), { recursive: true });
      const refused = await runCli(['restore', job, '--to', dir, '--extract']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/is not empty .*--force/);
      expect(await readFile(join(dir, 'data', 'f0.bin'), 'utf8')).toBe('old');

      const forced = await runCli(['restore', job, '--to', dir, '--extract', '--force']);
      expect(forced.code, forced.stderr).toBe(0);
      expect((await readFile(join(dir, 'data', 'f0.bin'))).length).toBe(4 * 1024 * 1024);
      expect((await readFile(join(dir, 'data', 'f1.bin'))).length).toBe(4 * 1024 * 1024);
      expect(await readFile(join(dir, 'data', 'mine.txt'), 'utf8')).toBe('kept');
    });
  });
});
