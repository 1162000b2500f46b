/**
 * Fault injection for crash-consistency tests: start the built CLI as a real child process,
 * wait for a stage of its run (a file on the destination, a child program among its
 * descendants), deliver a real signal, then read back what `list`, `verify` and `restore` say.
 *
 * Every wait polls a condition against a deadline (never a fixed sleep) and fails early, with
 * the runner's stderr, when the runner ends before the stage is reached.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { BIN, runCli, type CliResult } from './cli.js';
import { entriesUnder } from './files.js';

export interface RunningCli {
  pid: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited and its output is read. */
  exited: Promise<CliResult>;
  /** Whether `exited` has resolved. */
  done(): boolean;
}

const started = new Set<RunningCli>();

/** Ends (kill -9, with descendants) every runner a test started and left running: call it in afterEach. */
export function stopLeftoverRunners(): void {
  for (const runner of started) if (!runner.done()) killTree(runner);
  started.clear();
}

/** Starts `bin/backup.js args` without waiting for it. */
export function startCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let finished = false;
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      finished = true;
      resolve({ code, signal, stdout, stderr });
    });
  });
  const runner: RunningCli = { pid: child.pid!, child, stdout: () => stdout, stderr: () => stderr, exited, done: () => finished };
  started.add(runner);
  return runner;
}

const POLL_MS = 5;

/**
 * Polls `probe` until it returns a value other than undefined/false; throws after `timeoutMs`
 * or, when `runner` is given, as soon as the runner has exited without the stage being seen.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, options: { runner?: RunningCli; timeoutMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const exitedBefore = options.runner?.done() ?? false;
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (exitedBefore) throw new Error(`the runner ended before ${what}:\n${options.runner!.stderr()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${options.runner ? `:\n${options.runner.stderr()}` : ''}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export interface Proc {
  pid: number;
  ppid: number;
  /** The kernel's short name (after exec: `pg_dump`, `tar`, `zstd`, `mariadb-dump`). */
  comm: string;
  argv: string[];
  /** R, S, T (stopped), Z (zombie)... */
  state: string;
}

/** A process from /proc/PID/stat, its argv left empty (read for descendants only: polls are frequent). */
function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: it runs from the first "(" to the last ")".
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const rest = stat.slice(close + 2).split(' ');
    return { pid, ppid: Number(rest[1]), comm: stat.slice(open + 1, close), argv: [], state: rest[0]! };
  } catch {
    return undefined; // gone meanwhile
  }
}

function readArgv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return []; // gone meanwhile
  }
}

/** Every live descendant of `pid` (children, grandchildren...), from /proc. */
export function descendants(pid: number): Proc[] {
  const all = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map((n) => readProc(Number(n)))
    .filter((p): p is Proc => p !== undefined);
  const out = descendantsIn(all, pid);
  for (const p of out) p.argv = readArgv(p.pid);
  return out;
}

function descendantsIn(all: readonly Proc[], pid: number): Proc[] {
  const out: Proc[] = [];
  const parents = new Set([pid]);
  // Parents are listed before children only usually: repeat until nothing new is found.
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        out.push(p);
        grew = true;
      }
    }
  }
  return out;
}

/** Waits until a live (not zombie) descendant named `comm` (and matching `argv` when given) exists. */
export function waitForChild(runner: RunningCli, comm: string | RegExp, argv?: RegExp): Promise<Proc> {
  const matches = (p: Proc) => (typeof comm === 'string' ? p.comm === comm : comm.test(p.comm)) && p.state !== 'Z' && (!argv || argv.test(p.argv.join(' ')));
  return waitFor(`a child ${String(comm)}${argv ? ` ${String(argv)}` : ''}`, () => descendants(runner.pid).find(matches), { runner });
}

/** Waits until an entry below `dir` (relative path) matches `pattern`; returns it. */
export function waitForEntry(runner: RunningCli, dir: string, pattern: RegExp): Promise<string> {
  return waitFor(`an entry ${String(pattern)} under ${dir}`, async () => (await entriesUnder(dir)).find((e) => pattern.test(e)), { runner });
}

/**
 * Stops the runner (SIGSTOP) so its pipeline holds still: its children block on full pipes
 * while a fault is delivered; `thaw` lets it see the fault.
 */
export function freeze(pid: number): void {
  process.kill(pid, 'SIGSTOP');
}

export function thaw(pid: number): void {
  process.kill(pid, 'SIGCONT');
}

export interface ListRow {
  destination: string;
  source: string;
  run: string;
  time: string;
  state: 'complete' | 'incomplete' | 'legacy' | 'running' | 'other';
  owner?: { hostname: string; job: string };
  files: number;
  bytes: number;
}

/** `backup list JOB --json` (exit 0 required). */
export async function listRuns(job: string, env?: NodeJS.ProcessEnv): Promise<ListRow[]> {
  const result = await runCli(['list', job, '--json'], { env });
  if (result.code !== 0) throw new Error(`backup list exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as ListRow[];
}

export const isWholeRow = (row: Pick<ListRow, 'state'>): boolean => row.state === 'complete' || row.state === 'legacy';

/**
 * What a run must never leave behind once it is over and swept: partial uploads, the runner's
 * temp folders and credential files. `roots` are destination folders and the job's tmpdir.
 */
export async function leftovers(...roots: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const root of roots) {
    for (const entry of await entriesUnder(root)) {
      const name = entry.slice(entry.lastIndexOf('/') + 1);
      if (name.includes('.partial-') || name.startsWith('backup-runner-') || /^(pgpass|my|mysql|pg)[-.]/.test(name) || name.startsWith('.restoring-')) out.push(join(root, entry));
    }
  }
  return out;
}

/** Names of the runner's credential files (pgpass-*, MySQL option files) anywhere below `dir`. */
export async function credentialFiles(dir: string): Promise<string[]> {
  return (await entriesUnder(dir, false)).filter((e) => /(^|\/)(pgpass|my|mysql)[-.][^/]*$/.test(e));
}

export interface Tmpfs {
  path: string;
  unmount(): Promise<void>;
}

/**
 * A tmpfs of `bytes` at `path` (root only): a real full disk (ENOSPC). Undefined when this
 * machine refuses to mount, so the caller can say why it falls back.
 */
export async function mountTmpfs(path: string, bytes: number): Promise<Tmpfs | undefined> {
  await mkdir(path, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', path], { encoding: 'utf8' });
  if (mounted.status !== 0) return undefined;
  return {
    path,
    unmount: async () => {
      // A lazy unmount never fails on a busy mount point (a dying child may still hold a file).
      spawnSync('umount', ['-l', path]);
    },
  };
}

/** Newest first: by time, then by run name (a same-second or same-day run gets a `-2` suffix). */
export function newestFirst(rows: readonly ListRow[]): ListRow[] {
  return [...rows].sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || (a.run < b.run ? 1 : a.run > b.run ? -1 : 0));
}

export interface AfterFault {
  job: string;
  source: string;
  /** The whole runs of this job before the fault, newest first (run names as `list` shows them). */
  whole: string[];
  /** Extra restore arguments (`--extract`). */
  restoreArgs?: string[];
  /** Checks the restored files are exactly what the newest whole run backed up. */
  compareRestored: (dir: string) => Promise<void>;
  restoreTo: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * What must be true after any fault: `list` calls no interrupted run whole, `verify` fails when
 * the newest run is not whole and names it, `restore` without --run restores the newest whole
 * run and says which. Returns the rows `list` printed for the source.
 */
export async function checkAfterFault(f: AfterFault): Promise<ListRow[]> {
  const rows = newestFirst((await listRuns(f.job, f.env)).filter((r) => r.source === f.source));
  const mine = rows.filter((r) => r.state !== 'other');
  // Truthful list: exactly the runs known whole are whole; anything else the fault left is incomplete.
  expect(mine.filter(isWholeRow).map((r) => r.run), JSON.stringify(rows)).toEqual(f.whole);
  for (const r of mine.filter((x) => !isWholeRow(x))) expect(r.state, JSON.stringify(r)).toBe('incomplete');

  const verify = await runCli(['verify', f.job, '--source', f.source], { env: f.env });
  const newest = mine[0];
  if (!newest || !isWholeRow(newest)) {
    // The newest run is not whole, or nothing whole exists: verify fails and names what it checked.
    expect(verify.code, verify.stdout + verify.stderr).toBe(1);
    if (newest) expect(verify.stdout).toContain(newest.run);
  } else {
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }

  const restore = await runCli(['restore', f.job, '--source', f.source, '--to', f.restoreTo, ...(f.restoreArgs ?? [])], { env: f.env });
  if (f.whole.length === 0) {
    // Nothing whole to restore: a data failure (1), never a usage error (2), never half a run.
    expect(restore.code, restore.stderr).toBe(1);
    expect(await entriesUnder(f.restoreTo)).toEqual([]);
    return rows;
  }
  expect(restore.code, restore.stderr).toBe(0);
  expect(restore.stderr).toContain(f.whole[0]);
  await f.compareRestored(f.restoreTo);
  return rows;
}

/**
 * The run after a fault: exits 0, reports what it swept when there was something to sweep, and
 * leaves no partial upload, temp folder or credential file under `roots`.
 */
export async function nextRunSweeps(job: string, roots: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const before = await leftovers(...roots);
  const result = await runCli(['-v', job], { env });
  const output = result.stdout + result.stderr;
  expect(result.code, output).toBe(0);
  if (before.length > 0) expect(output, `leftovers before: ${before.join(', ')}`).toMatch(/swept \d+ leftover/);
  expect(await leftovers(...roots)).toEqual([]);
  return result;
}

/**
 * How many whole runs the run summary says retention kept. Plain `kept 2 run(s)` → 2; with
 * reasons, `kept 3 run(s): 1 copy; 1 run: the run just stored; 1 run: incomplete, does not
 * count as a copy` → 2: every kept run but those kept for not being a copy (incomplete, in
 * progress, another job's or host's). Undefined when retention did not report.
 */
export function keptCopies(summary: string): number | undefined {
  const m = /kept (\d+) run\(s\)(?:: (.*?))?, removed/.exec(summary);
  if (!m) return undefined;
  let whole = Number(m[1]);
  for (const group of (m[2] ?? '').split('; ')) {
    const g = /^(\d+) runs?: (.*)$/.exec(group);
    if (g && /does not count|in progress|another job|other host/.test(g[2]!)) whole -= Number(g[1]);
  }
  return whole;
}

/** kill -9 of the runner and every descendant it still has (a test's last resort, never a fault). */
export function killTree(runner: RunningCli): void {
  for (const p of [...descendants(runner.pid), { pid: runner.pid }]) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * The runner's exit, or, after `timeoutMs`, a kill of its whole tree and an error saying it hung
 * (issue 10, failure 1): a hung run must fail its test, not leave processes behind.
 */
export async function exitWithin(runner: RunningCli, timeoutMs = 30_000): Promise<CliResult> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), timeoutMs)));
  const result = await Promise.race([runner.exited, hung]);
  clearTimeout(timer);
  if (result !== 'hung') return result;
  const tree = descendants(runner.pid).map((p) => `${p.pid} ${p.comm}`);
  killTree(runner);
  throw new Error(`the run did not end within ${timeoutMs / 1000} s (children: ${tree.join(', ') || 'none'}):\n${runner.stderr()}`);
}

/** Runs the CLI to its end, bounded like `exitWithin`. */
export function runBounded(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return exitWithin(startCli(args, options), options.timeoutMs);
}
