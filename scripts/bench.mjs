#!/usr/bin/env node
/**
 * npm run bench: backs up a generated folder (~1 GiB by default, mixed text and binary) to a
 * local destination with passphrase encryption, and runs the equivalent shell pipeline
 * `tar cf - DIR | zstd -1 -T0 | gpg --symmetric` on the same data in the same run. Prints both
 * throughputs, their ratio, the runner's peak RSS and the largest file seen in its tmpdir.
 *
 * BENCH_SIZE_MB=1024 (default) sets the data size; BENCH_DIR the work folder.
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SIZE_MB = Number(process.env.BENCH_SIZE_MB ?? 1024);
const WORK = process.env.BENCH_DIR ?? join(tmpdir(), 'backup-runner-bench');
const BIN = fileURLToPath(new URL('../bin/backup.js', import.meta.url));
const PASSPHRASE = randomBytes(16).toString('hex');
const FILE_MB = 8;

function generate(dir) {
  mkdirSync(dir, { recursive: true });
  const text = Buffer.from(
    Array.from({ length: 20000 }, (_, i) => `${i} INFO request handled path=/api/v1/items/${i % 977} status=200 ms=${i % 113}\n`).join(''),
  );
  let written = 0;
  let n = 0;
  while (written < SIZE_MB * 1048576) {
    const sub = join(dir, `d${Math.floor(n / 16)}`);
    mkdirSync(sub, { recursive: true });
    // Half incompressible binary, half log-like text: a realistic mix for zstd.
    const chunk = n % 2 === 0 ? randomBytes(FILE_MB * 1048576) : Buffer.concat(Array.from({ length: Math.ceil((FILE_MB * 1048576) / text.length) }, () => text)).subarray(0, FILE_MB * 1048576);
    writeFileSync(join(sub, `f${n}.${n % 2 === 0 ? 'bin' : 'log'}`), chunk);
    written += chunk.length;
    n++;
  }
  return written;
}

function largestFile(dir) {
  let max = 0;
  const walk = (d) => {
    let entries = [];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      try {
        if (e.isDirectory()) walk(p);
        else max = Math.max(max, statSync(p).size);
      } catch {
        // vanished while walking
      }
    }
  };
  walk(dir);
  return max;
}

function timed(command, args, { env, watchPid = false, watchDir } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    let peakKb = 0;
    let maxTmp = 0;
    const poll = setInterval(() => {
      if (watchPid) {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) peakKb = Math.max(peakKb, Number(m[1]));
        } catch {
          // exited
        }
      }
      if (watchDir) maxTmp = Math.max(maxTmp, largestFile(watchDir));
    }, 50);
    child.on('close', (code) => {
      clearInterval(poll);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${command} exited ${code}: ${stderr.slice(-2000)}`));
      resolve({ seconds, peakMiB: peakKb / 1024, maxTmp });
    });
  });
}

async function main() {
  rmSync(WORK, { recursive: true, force: true });
  const data = join(WORK, 'data');
  process.stdout.write(`generating ${SIZE_MB} MiB in ${data} ...\n`);
  const bytes = generate(data);
  // Warm the page cache so both runs read from memory, as the reference figures were taken.
  execFileSync('sh', ['-c', `tar cf - -C ${WORK} data > /dev/null`]);

  const job = join(WORK, 'job.json');
  const passFile = join(WORK, 'passphrase');
  writeFileSync(passFile, PASSPHRASE, { mode: 0o600 });
  writeFileSync(
    job,
    JSON.stringify({
      hostname: 'bench',
      tmpdir: join(WORK, 'tmp'),
      state_dir: join(WORK, 'state'),
      sources: [{ id: 'data', type: 'folder', path: data, passphrase_file: passFile, compression: 'zstd', compression_level: 1 }],
      destinations: [{ id: 'disk', type: 'local', path: join(WORK, 'store'), create: 1, fsync: 0 }],
    }),
  );
  mkdirSync(join(WORK, 'tmp'), { recursive: true });

  const shellOut = join(WORK, 'shell.tar.zst.gpg');
  const gnupgHome = join(WORK, 'gnupg');
  mkdirSync(gnupgHome, { recursive: true, mode: 0o700 });
  const shell = await timed('sh', ['-c', `tar cf - -C ${WORK} data | zstd -q -1 -T0 | gpg --batch --quiet --pinentry-mode loopback --passphrase-file ${passFile} --symmetric --cipher-algo AES256 --compress-algo none -o ${shellOut}`], { env: { GNUPGHOME: gnupgHome } });
  const runner = await timed(process.execPath, [BIN, 'run', job], { watchPid: true, watchDir: join(WORK, 'tmp') });

  const mbps = (s) => bytes / 1e6 / s;
  const ratio = shell.seconds / runner.seconds;
  const lines = [
    `data: ${(bytes / 1048576).toFixed(0)} MiB (half random binary, half text), page cache warm`,
    `shell  tar | zstd -1 -T0 | gpg --symmetric : ${shell.seconds.toFixed(2)} s  ${mbps(shell.seconds).toFixed(0)} MB/s`,
    `backup run (zstd 1, OpenPGP, local)       : ${runner.seconds.toFixed(2)} s  ${mbps(runner.seconds).toFixed(0)} MB/s`,
    `ratio runner/shell: ${ratio.toFixed(2)} (target >= 0.9)`,
    `runner peak RSS: ${runner.peakMiB.toFixed(0)} MiB (target <= 200)`,
    `largest file in tmpdir during the run: ${runner.maxTmp} bytes (target <= 1 MiB)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  rmSync(WORK, { recursive: true, force: true });
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
