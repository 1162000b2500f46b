#!/usr/bin/env node
/**
 * npm run bench: the runner against the equivalent shell pipeline on the same data, in one
 * invocation, runs interleaved (shell, runner, shell, runner, ...) and medians reported:
 *
 * - backup, two data shapes × zstd levels 1 and 3: `tar cf - DIR | zstd -q -L -T0 |
 *   gpg --symmetric --cipher-algo AES256 --compress-algo none` against `backup run` with a
 *   passphrase and one local destination (fsync off on both sides). Wall time, CPU (user+sys
 *   of the whole process tree, from the shell's `times`), the runner's peak RSS.
 * - fan-out: the same backup to three local destinations against one.
 * - restore: `gpg -d | zstd -dq | tar x` against `backup restore --extract` of the same stored
 *   file (every check on: size, sha256, OpenPGP MDC, zstd, tar).
 * - memory: the runner's peak RSS on BENCH_SMALL_MB and BENCH_BIG_MB of incompressible data.
 * - `backup --help` start-up time, and the fixed cost of a backup and a restore (a one-file
 *   folder): the last column divides the shell's time by the runner's less that fixed cost,
 *   which leaves the streaming itself. Beside them, Node's own start (`node -e 0`), the part of
 *   the fixed cost no change of the runner can remove: it depends on the machine (with
 *   NODE_EXTRA_CA_CERTS naming the whole system CA bundle, as on the machine of the README's
 *   table, Node parses every certificate at each start).
 *
 * Every timed run starts after `sync` (no earlier run's writeback lands on it).
 *
 * Prints one table (Markdown) with every figure and whether each goal of issue 14 holds.
 * Environment: BENCH_SIZE_MB (512) per shape, BENCH_RUNS (3), BENCH_LEVELS ("1,3"),
 * BENCH_SMALL_MB (1024) and BENCH_BIG_MB (8192; 0 skips the memory rows), BENCH_DIR (work
 * folder, removed at the end), BENCH_BIN (the backup executable; default ../bin/backup.js),
 * BENCH_BASELINE (another build's backup executable, e.g. a worktree of the previous commit:
 * its runs join the interleaving of the backups, the restore and the fixed costs, and a second
 * table sets the two builds side by side; on a host whose speed drifts by 10-20% between
 * invocations, that is the comparison to trust).
 */
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SIZE_MB = Number(process.env.BENCH_SIZE_MB ?? 512);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LEVELS = (process.env.BENCH_LEVELS ?? '1,3').split(',').map(Number);
const SMALL_MB = Number(process.env.BENCH_SMALL_MB ?? 1024);
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 8192);
const WORK = process.env.BENCH_DIR ?? join(tmpdir(), 'backup-runner-bench');
const BIN = process.env.BENCH_BIN ?? fileURLToPath(new URL('../bin/backup.js', import.meta.url));
const BASELINE = process.env.BENCH_BASELINE;
const PASSPHRASE = randomBytes(16).toString('hex');
const MiB = 1048576;

const GOALS = { ratio: 0.95, cpu: 1.15, rssMiB: 150, rssFlatMiB: 16, fanout: 1.1, restore: 0.95, helpMs: 300 };

// ---------------------------------------------------------------- data

/** A fast deterministic PRNG (xorshift32): text generation must not take longer than the runs. */
function prng(seed) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** A pool of lines of one kind, about `bytes` long, varied enough that zstd sees real text. */
function textPool(kind, bytes, seed) {
  const r = prng(seed);
  const lines = [];
  let size = 0;
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
  const w = () => words[Math.floor(r() * words.length)];
  for (let i = 0; size < bytes; i++) {
    const ts = `2026-03-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}T${String(Math.floor(r() * 24)).padStart(2, '0')}:${String(Math.floor(r() * 60)).padStart(2, '0')}:${String(Math.floor(r() * 60)).padStart(2, '0')}.${Math.floor(r() * 1000)}Z`;
    let line;
    if (kind === 'log') line = `${ts} ${r() < 0.9 ? 'INFO' : 'WARN'} [worker-${Math.floor(r() * 16)}] request ${Math.floor(r() * 1e9).toString(16)} path=/api/v1/${w()}/${Math.floor(r() * 100000)} status=${r() < 0.95 ? 200 : 500} ms=${Math.floor(r() * 900)} user=${w()}${Math.floor(r() * 1000)}\n`;
    else if (kind === 'json') line = `{"ts":"${ts}","event":"${w()}_${w()}","id":${Math.floor(r() * 1e9)},"amount":${(r() * 10000).toFixed(2)},"tags":["${w()}","${w()}"],"ok":${r() < 0.9}}\n`;
    else line = `${i},${ts},${w()},${w()} ${w()},${Math.floor(r() * 1e6)},${(r() * 1000).toFixed(3)},${r() < 0.5 ? 'Y' : 'N'}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
}

/**
 * "mixed": 8 MiB files, half random binary, half one repeated log text (the first bench's shape).
 * "text": a text-heavy tree: logs, JSON lines, CSV and, one file in seven, half-random binary.
 */
function generate(dir, shape, sizeMB, seed = 1) {
  mkdirSync(dir, { recursive: true });
  let written = 0;
  let n = 0;
  const target = sizeMB * MiB;
  const r = prng(seed);
  if (shape === 'mixed') {
    const text = Buffer.from(Array.from({ length: 20000 }, (_, i) => `${i} INFO request handled path=/api/v1/items/${i % 977} status=200 ms=${i % 113}\n`).join(''));
    const textFile = Buffer.concat(Array.from({ length: Math.ceil((8 * MiB) / text.length) }, () => text)).subarray(0, 8 * MiB);
    while (written < target) {
      const sub = join(dir, `d${Math.floor(n / 16)}`);
      mkdirSync(sub, { recursive: true });
      const chunk = n % 2 === 0 ? randomBytes(8 * MiB) : textFile;
      writeFileSync(join(sub, `f${n}.${n % 2 === 0 ? 'bin' : 'log'}`), chunk);
      written += chunk.length;
      n++;
    }
    return written;
  }
  const pools = { log: textPool('log', 6 * MiB, seed), json: textPool('json', 6 * MiB, seed + 1), csv: textPool('csv', 6 * MiB, seed + 2) };
  const kinds = ['log', 'json', 'csv', 'log', 'json', 'csv', 'bin'];
  while (written < target) {
    const sub = join(dir, `d${Math.floor(n / 32)}`);
    mkdirSync(sub, { recursive: true });
    const kind = kinds[n % kinds.length];
    const size = Math.min(target - written, Math.floor(256 * 1024 + r() * 4 * MiB));
    let chunk;
    if (kind === 'bin') {
      chunk = Buffer.alloc(size);
      randomBytes(size >> 1).copy(chunk);
      for (let i = size >> 1; i < size; i += 4096) chunk.writeUInt32LE(i, i);
    } else {
      const pool = pools[kind];
      const start = Math.floor(r() * (pool.length - size - 1));
      chunk = size < pool.length ? pool.subarray(Math.max(0, start), Math.max(0, start) + size) : Buffer.concat([pool, pool]).subarray(0, size);
    }
    writeFileSync(join(sub, `f${n}.${kind === 'bin' ? 'bin' : kind === 'json' ? 'jsonl' : kind}`), chunk);
    written += chunk.length;
    n++;
  }
  return written;
}

// ---------------------------------------------------------------- measuring

/**
 * Runs `line` with sh; returns wall seconds and the CPU seconds (user+sys) of every process
 * of the line (the shell's `times`, children reaped). With `watch`, the line must print
 * `PID <pid>` of the process whose peak RSS (VmHWM) is wanted on stderr first.
 */
function timed(line, { env, watch = false } = {}) {
  return new Promise((resolve, reject) => {
    const script = watch ? `${line} & echo PID $! >&2; wait $!; s=$?; times >&2; exit $s` : `${line}; s=$?; times >&2; exit $s`;
    const started = process.hrtime.bigint();
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    let pid;
    let peakKb = 0;
    child.stderr.on('data', (c) => {
      stderr += c;
      pid ??= /PID (\d+)/.exec(stderr)?.[1];
    });
    const poll = setInterval(() => {
      if (!pid) return;
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // exited
      }
    }, 20);
    child.on('close', (code) => {
      clearInterval(poll);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${line} exited ${code}: ${stderr.slice(-2000)}`));
      const t = [...stderr.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)].at(-1);
      const cpu = t ? Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4]) : NaN;
      resolve({ seconds, cpu, peakMiB: peakKb / 1024 });
    });
  });
}

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Before each timed run: the page cache's dirty pages go to disk first, so that no run pays for
 * the writeback of the ones before it (runs to three destinations write 500 MiB each; left
 * alone, the kernel's flushing landed on whichever run crossed its threshold).
 */
const settle = () => execFileSync('sync');

const pick = (rs) => ({ seconds: median(rs.map((r) => r.seconds)), cpu: median(rs.map((r) => r.cpu)), peakMiB: Math.max(...rs.map((r) => r.peakMiB ?? 0)) });

/** Interleaved: each of `sides` in turn, `runs` times each; per side the median of each figure. */
async function interleavedAll(sides, runs = RUNS, between) {
  const results = sides.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, side] of sides.entries()) {
      await between?.();
      settle();
      results[k].push(await side());
    }
  }
  return results.map(pick);
}

/**
 * a, b, a, b, ... With a baseline build: a, baseline, b, ... (b last, so what stays stored is
 * the runner's), returned as [a, b, baseline].
 */
async function interleaved(a, b, runs = RUNS, between, baseline) {
  if (!baseline) return interleavedAll([a, b], runs, between);
  const [ra, rbase, rb] = await interleavedAll([a, baseline, b], runs, between);
  return [ra, rb, rbase];
}

function job(name, { data, level, destinations = 1 }) {
  const file = join(WORK, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      hostname: 'bench',
      tmpdir: join(WORK, 'tmp'),
      state_dir: join(WORK, `state-${name}`),
      sources: [{ id: 'data', type: 'folder', path: data, passphrase_file: join(WORK, 'passphrase'), compression: 'zstd', compression_level: level }],
      destinations: Array.from({ length: destinations }, (_, i) => ({ id: `disk${i}`, type: 'local', path: join(WORK, `store-${name}-${i}`), create: 1, fsync: 0 })),
    }),
  );
  return file;
}

const clearStores = (name) => {
  for (const e of readdirSync(WORK)) if (e.startsWith(`store-${name}-`) || e === `state-${name}`) rmSync(join(WORK, e), { recursive: true, force: true });
};

function storedFile(name) {
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        const found = walk(p);
        if (found) return found;
      } else if (e.name.endsWith('.gpg')) return p;
    }
    return undefined;
  };
  return walk(join(WORK, `store-${name}-0`));
}

// ---------------------------------------------------------------- main

async function main() {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(join(WORK, 'tmp'), { recursive: true });
  const passFile = join(WORK, 'passphrase');
  writeFileSync(passFile, PASSPHRASE, { mode: 0o600 });
  const gnupgHome = join(WORK, 'gnupg');
  mkdirSync(gnupgHome, { recursive: true, mode: 0o700 });
  const gpgEnv = { GNUPGHOME: gnupgHome };
  const gpgArgs = `gpg --batch --quiet --pinentry-mode loopback --passphrase-file ${q(passFile)}`;
  const node = q(process.execPath);
  const bin = q(BIN);
  const base = BASELINE ? q(BASELINE) : undefined;
  /** Rows of the baseline table: run, baseline result, runner result. */
  const against = [];
  const log = (s) => process.stderr.write(`${s}\n`);

  const shapes = { mixed: 'half random binary, half log text, 8 MiB files', text: 'text-heavy tree: logs, JSON lines, CSV, 1/7 half-random binary, 0.25-4 MiB files' };
  const rows = [];
  const goals = [];
  const stored = {};
  const cpuModel = cpus()[0]?.model?.trim() ?? 'unknown';
  const warm = (dir) => execFileSync('sh', ['-c', `tar cf - -C ${q(dir)} . > /dev/null`]);

  // The runner's fixed cost (Node, modules, lock, run claim, manifest): a backup and a restore
  // of a one-file folder. Subtracted in the last column, it leaves the streaming itself.
  const fixed = {};
  {
    const data = join(WORK, 'data-one-file');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'one.txt'), 'one file\n');
    const jobFile = job('one-file', { data, level: 1 });
    const out = join(WORK, 'restored-one-file');
    log('fixed start-up: a one-file folder ...');
    // Three times as many runs as the others: a quarter of a second each, and noisy.
    const sides = base ? [bin, base] : [bin];
    const backups = sides.map(() => []);
    const restores = sides.map(() => []);
    // Node's own start on this machine, interleaved too: the floor under the fixed cost.
    const bare = [];
    for (let i = 0; i < 3 * RUNS; i++) {
      settle();
      bare.push(await timed(`${node} -e 0`));
      for (const [k, b] of sides.entries()) {
        clearStores('one-file');
        settle();
        backups[k].push(await timed(`${node} ${b} run ${q(jobFile)}`));
        rmSync(out, { recursive: true, force: true });
        settle();
        restores[k].push(await timed(`${node} ${b} restore ${q(jobFile)} --source data --to ${q(out)} --extract`));
      }
    }
    const [backup, baseBackup] = backups.map(pick);
    const [restore, baseRestore] = restores.map(pick);
    fixed.backup = backup.seconds;
    fixed.restore = restore.seconds;
    const node0 = pick(bare);
    rows.push([`Node's own start (\`node -e 0\`)${process.env.NODE_EXTRA_CA_CERTS ? ', NODE_EXTRA_CA_CERTS set' : ''}`, '', NaN, node0.seconds, NaN, NaN, node0.cpu, NaN, NaN]);
    rows.push(['backup of a one-file folder (fixed cost)', '', NaN, fixed.backup, NaN, NaN, backup.cpu, NaN, NaN]);
    rows.push(['restore --extract of it (fixed cost)', '', NaN, fixed.restore, NaN, NaN, restore.cpu, NaN, NaN]);
    if (base) {
      against.push(['backup of a one-file folder (fixed cost)', baseBackup, backup]);
      against.push(['restore --extract of it (fixed cost)', baseRestore, restore]);
    }
    clearStores('one-file');
    rmSync(out, { recursive: true, force: true });
  }

  for (const shape of Object.keys(shapes)) {
    const data = join(WORK, `data-${shape}`);
    log(`generating ${SIZE_MB} MiB (${shape}) ...`);
    const bytes = generate(data, shape, SIZE_MB);
    warm(data);
    for (const level of LEVELS) {
      const name = `${shape}-${level}`;
      const jobFile = job(name, { data, level });
      const shellOut = join(WORK, 'shell.tar.zst.gpg');
      log(`backup ${shape} level ${level}: ${RUNS} interleaved runs ...`);
      const [shell, runner, baseline] = await interleaved(
        () => timed(`tar cf - -C ${q(data)} . | zstd -q -${level} -T0 | ${gpgArgs} --symmetric --cipher-algo AES256 --compress-algo none --yes -o ${q(shellOut)}`, { env: gpgEnv }),
        () => timed(`${node} ${bin} run ${q(jobFile)}`, { watch: true }),
        RUNS,
        async () => {
          clearStores(name);
          rmSync(shellOut, { force: true });
        },
        base && (() => timed(`${node} ${base} run ${q(jobFile)}`, { watch: true })),
      );
      if (baseline) against.push([`backup ${shape}, zstd -${level}`, baseline, runner]);
      stored[name] = storedFile(name);
      const ratio = shell.seconds / runner.seconds;
      const cpuRatio = runner.cpu / shell.cpu;
      rows.push([`backup ${shape}, zstd -${level}`, `${(bytes / MiB).toFixed(0)} MiB`, shell.seconds, runner.seconds, ratio, shell.cpu, runner.cpu, cpuRatio, runner.peakMiB]);
      goals.push([`backup ${shape} -${level}: speed ratio ≥ ${GOALS.ratio}`, ratio >= GOALS.ratio, ratio.toFixed(2)]);
      goals.push([`backup ${shape} -${level}: CPU ≤ ${GOALS.cpu}x shell`, cpuRatio <= GOALS.cpu, `${cpuRatio.toFixed(2)}x`]);
      goals.push([`backup ${shape} -${level}: peak RSS ≤ ${GOALS.rssMiB} MiB`, runner.peakMiB <= GOALS.rssMiB, `${runner.peakMiB.toFixed(0)} MiB`]);
    }
  }

  // Fan-out: the text shape at level 1 (the fastest stream), to three local destinations against one.
  {
    const data = join(WORK, 'data-text');
    const one = job('fan1', { data, level: 1 });
    const three = job('fan3', { data, level: 1, destinations: 3 });
    log('fan-out: one destination against three ...');
    const runOf = (b, jobFile) => () => timed(`${node} ${b} run ${q(jobFile)}`, { watch: true });
    const sides = [runOf(bin, one), runOf(bin, three), ...(base ? [runOf(base, one), runOf(base, three)] : [])];
    const [a, b, baseOne, baseThree] = await interleavedAll(sides, RUNS, async () => {
      clearStores('fan1');
      clearStores('fan3');
    });
    if (baseOne && baseThree) {
      against.push(['backup text -1 to 1 local destination', baseOne, a]);
      against.push(['backup text -1 to 3 local destinations', baseThree, b]);
    }
    const factor = b.seconds / a.seconds;
    rows.push(['backup text -1, 1 vs 3 local destinations', '', a.seconds, b.seconds, a.seconds / b.seconds, a.cpu, b.cpu, b.cpu / a.cpu, b.peakMiB]);
    goals.push([`fan-out: 3 destinations ≤ ${GOALS.fanout}x the time of 1`, factor <= GOALS.fanout, `${factor.toFixed(2)}x`]);
    clearStores('fan1');
    clearStores('fan3');
  }

  // Restore of the text shape's stored file at the highest level measured (the default is 3).
  {
    const level = LEVELS.at(-1);
    const name = `text-${level}`;
    const file = stored[name];
    const jobFile = join(WORK, `${name}.json`);
    const out = join(WORK, 'restored');
    log(`restore --extract of ${file} ...`);
    const fresh = async () => {
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out);
    };
    const restoreWith = (b) => () => timed(`${node} ${b} restore ${q(jobFile)} --source data --to ${q(out)} --extract --force`, { watch: true });
    const [shell, runner, baseline] = await interleaved(
      () => timed(`${gpgArgs} -d ${q(file)} | zstd -dq | tar xf - -C ${q(out)}`, { env: gpgEnv }),
      restoreWith(bin),
      RUNS,
      fresh,
      base && restoreWith(base),
    );
    if (baseline) against.push([`restore --extract, text -${level}`, baseline, runner]);
    const ratio = shell.seconds / runner.seconds;
    rows.push([`restore --extract, text -${level}`, `${(Number(execFileSync('stat', ['-c', '%s', file], { encoding: 'utf8' })) / MiB).toFixed(0)} MiB stored`, shell.seconds, runner.seconds, ratio, shell.cpu, runner.cpu, runner.cpu / shell.cpu, runner.peakMiB]);
    goals.push([`restore --extract ≥ ${GOALS.restore}x shell`, ratio >= GOALS.restore, ratio.toFixed(2)]);
    rmSync(out, { recursive: true, force: true });
  }
  for (const shape of Object.keys(shapes)) rmSync(join(WORK, `data-${shape}`), { recursive: true, force: true });

  // Memory, flat from SMALL_MB to BIG_MB: incompressible data (every byte goes through Node).
  if (BIG_MB > 0) {
    const mem = join(WORK, 'data-mem');
    const parts = Math.ceil(BIG_MB / SMALL_MB);
    log(`generating ${BIG_MB} MiB for the memory rows ...`);
    const block = randomBytes(8 * MiB);
    for (let p = 0; p < parts; p++) {
      const dir = join(mem, `p${p}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < SMALL_MB / 8; f++) {
        // Distinct 8 MiB files from one random block: a different 32-byte head each time
        // and zstd's window (at most 8 MiB at these levels) never sees a repeat.
        createHash('sha256').update(`${p}/${f}`).digest().copy(block);
        writeFileSync(join(dir, `f${f}.bin`), block);
      }
    }
    const results = [];
    for (const [label, path, mb] of [[`${SMALL_MB} MiB`, join(mem, 'p0'), SMALL_MB], [`${parts * SMALL_MB} MiB`, mem, parts * SMALL_MB]]) {
      const name = `mem${mb}`;
      const jobFile = job(name, { data: path, level: 1 });
      log(`memory: ${label} ...`);
      settle();
      const r = await timed(`${node} ${bin} run ${q(jobFile)}`, { watch: true });
      clearStores(name);
      results.push(r);
      rows.push([`memory, random data, zstd -1`, label, NaN, r.seconds, NaN, NaN, r.cpu, NaN, r.peakMiB]);
    }
    rmSync(mem, { recursive: true, force: true });
    const [small, big] = results;
    const flat = big.peakMiB - small.peakMiB <= GOALS.rssFlatMiB;
    goals.push([`peak RSS ≤ ${GOALS.rssMiB} MiB at ${SMALL_MB} and ${BIG_MB} MiB, flat (within ${GOALS.rssFlatMiB} MiB)`, flat && big.peakMiB <= GOALS.rssMiB && small.peakMiB <= GOALS.rssMiB, `${small.peakMiB.toFixed(0)} → ${big.peakMiB.toFixed(0)} MiB`]);
  }

  // Start-up.
  {
    const times = [];
    for (let i = 0; i < 7; i++) times.push((await timed(`${node} ${bin} --help > /dev/null`)).seconds);
    const ms = median(times) * 1000;
    rows.push(['backup --help', '', NaN, median(times), NaN, NaN, NaN, NaN, NaN]);
    goals.push([`backup --help ≤ ${GOALS.helpMs} ms`, ms <= GOALS.helpMs, `${ms.toFixed(0)} ms`]);
  }

  const f = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '');
  const out = [];
  out.push(`Bench ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpuModel}), Node ${process.version}, ${execFileSync('zstd', ['--version'], { encoding: 'utf8' }).match(/v[\d.]+/)?.[0] ?? ''} zstd, ${execFileSync('gpg', ['--version'], { encoding: 'utf8' }).split('\n')[0]}; medians of ${RUNS} interleaved runs, page cache warm, fsync off.`);
  out.push(`Shapes: mixed = ${shapes.mixed}; text = ${shapes.text}. Shell line: tar | zstd -L -T0 | gpg --symmetric --cipher-algo AES256 --compress-algo none.`);
  out.push('');
  out.push('| run | data | shell s | runner s | speed ratio (shell/runner) | shell CPU s | runner CPU s | CPU ratio | runner peak RSS MiB | speed ratio without the fixed cost |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  const streaming = (r) => {
    const cost = r[0].startsWith('restore') ? fixed.restore : r[0].startsWith('backup') && Number.isFinite(r[2]) && !r[0].includes('vs 3') ? fixed.backup : NaN;
    return r[2] / (r[3] - cost);
  };
  for (const r of rows) out.push(`| ${r[0]} | ${r[1]} | ${f(r[2])} | ${f(r[3])} | ${f(r[4])} | ${f(r[5])} | ${f(r[6])} | ${f(r[7])} | ${f(r[8], 0)} | ${f(streaming(r))} |`);
  out.push('');
  out.push('| goal | holds | measured |');
  out.push('|---|---|---|');
  for (const [goal, ok, value] of goals) out.push(`| ${goal} | ${ok ? 'yes' : '**no**'} | ${value} |`);
  if (against.length > 0) {
    out.push('');
    out.push(`Against the baseline build ${BASELINE} (interleaved with the runs above):`);
    out.push('');
    out.push('| run | baseline s | runner s | runner time / baseline | baseline CPU s | runner CPU s | runner CPU / baseline |');
    out.push('|---|---|---|---|---|---|---|');
    for (const [run, b, r] of against) out.push(`| ${run} | ${f(b.seconds)} | ${f(r.seconds)} | ${f(r.seconds / b.seconds)} | ${f(b.cpu)} | ${f(r.cpu)} | ${f(r.cpu / b.cpu)} |`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  rmSync(WORK, { recursive: true, force: true });
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
