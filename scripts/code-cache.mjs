#!/usr/bin/env node
/**
 * Writes dist/bundle/backup.cjs.cache, V8's code cache of the CLI bundle (see
 * src/cli/bundle-loader.ts), after a training run in this one process: the commands an
 * operator runs most, on a throwaway job in a temporary folder (a small folder backed up to a
 * local destination, listed, verified, restored, its status read). The cache then holds every
 * function those commands compiled, so a real run starts with them compiled.
 *
 * Nothing here needs a server. Where tar or zstd is missing the backup fails early, which is
 * fine: what ran is cached all the same. Run by scripts/build.mjs with its output hidden; run
 * it by hand to see the commands' output.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCli } from '../dist/cli/bundle-loader.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = loadCli(join(ROOT, 'dist/bundle/backup.cjs'));

const work = mkdtempSync(join(tmpdir(), 'backup-runner-code-cache-'));
try {
  const data = join(work, 'data');
  mkdirSync(join(data, 'sub'), { recursive: true });
  writeFileSync(join(data, 'a.txt'), 'training\n'.repeat(1000));
  writeFileSync(join(data, 'sub', 'b.bin'), randomBytes(4096));
  const job = join(work, 'job.json');
  writeFileSync(
    job,
    JSON.stringify({
      hostname: 'build',
      tmpdir: join(work, 'tmp'),
      state_dir: join(work, 'state'),
      passphrase: randomBytes(16).toString('hex'),
      sources: [{ id: 'data', type: 'folder', path: data }],
      destinations: [{ id: 'disk', type: 'local', path: join(work, 'store'), create: 1, fsync: 0 }],
      notifications: [{ type: 'flagfile', flagfile: join(work, 'flag') }],
    }),
  );
  mkdirSync(join(work, 'tmp'));
  const commands = [
    ['--help'],
    ['validate', job],
    ['run', job],
    ['list', job],
    ['verify', job],
    ['restore', job, '--source', 'data', '--to', join(work, 'restored'), '--extract'],
    ['status', job],
  ];
  for (const args of commands) {
    const code = await cli.main(['node', 'backup', ...args]).catch(() => -1);
    process.stderr.write(`code cache training: backup ${args[0]} exited ${code}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
await cli.writeCodeCache();
// The run leaves nothing that must finish (its workers are idle and unreferenced): exit now.
process.exit(0);
