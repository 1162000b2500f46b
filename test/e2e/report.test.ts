/**
 * `backup report --html` and the `--since` / `--source` filters of `status` and `history`,
 * through the built CLI, on real runs (a folder source to a local destination, one source that
 * fails) and back-dated history records; then the page in headless Chromium: every chart drew
 * all its marks with a size, and the console stayed silent.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunReport, SourceReport } from '../../src/report.js';
import { appendHistory } from '../../src/state/history.js';
import { describeWith, findBinary } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { writeJob } from '../support/jobs.js';
import { makeRunReport, makeSourceReport } from '../support/reports.js';
import { makeTempDir } from '../support/tmp.js';
import { makeTree } from '../support/tree.js';

const HOUR = 3600_000;
const PASSPHRASE = 'report e2e passphrase';
/** What a hostile or careless history may hold: it must reach the page as text. */
const HOSTILE = `<img src=x onerror="alert(1)"> & 'quoted' </table><script>alert(2)</script>`;

function hoursAgo(h: number): string {
  return new Date(Date.now() - h * HOUR).toISOString();
}

function sourceRun(id: string, h: number, status: SourceReport['status'], storedBytes = 1000, warnings: string[] = []): SourceReport {
  const base = makeSourceReport({ id, type: 'folder', status, startedAt: hoursAgo(h), finishedAt: hoursAgo(h - 0.01), durationSeconds: 30 + h / 10, warnings });
  base.destinations = base.destinations.map((d) => ({ ...d, id: 'disk' }));
  if (status === 'failure') base.error = HOSTILE;
  else base.artifacts = [{ name: `${id}.tar`, file: `${id}.tar.zst.gpg`, rawBytes: storedBytes * 3, storedBytes, sha256: 'c'.repeat(64) }];
  return base;
}

interface Chart {
  id: string;
  expected: number;
  drawn?: number;
}

/** The `svg.chart` elements of a page (as written, or as a browser dumped it). */
function chartsOf(html: string): Chart[] {
  return [...html.matchAll(/<svg class="chart"[^>]*>/g)].map((m) => ({
    id: /\bid="([^"]*)"/.exec(m[0])![1]!,
    expected: Number(/data-expected="(\d+)"/.exec(m[0])![1]),
    drawn: /data-drawn="(\d+)"/.test(m[0]) ? Number(/data-drawn="(\d+)"/.exec(m[0])![1]) : undefined,
  }));
}

let tmp: { path: string; remove: () => Promise<void> };
let jobFile: string;
let page: string;
/** A moment after the real runs. */
let afterRuns: string;

/** Runs before the describes' tests: real runs (needs tar, zstd) and back-dated records. */
async function setUp(): Promise<void> {
  tmp = await makeTempDir('br-report-');
  const data = join(tmp.path, 'data');
  await mkdir(data);
  await makeTree(data);
  jobFile = await writeJob(tmp.path, {
    max_age: '26h',
    sources: [
      { id: 'docs', type: 'folder', name: 'Documents', path: data, passphrase: PASSPHRASE },
      { id: 'broken', type: 'folder', path: join(tmp.path, 'missing'), passphrase: PASSPHRASE, max_age: '3d' },
    ],
    destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store'), create: 1 }],
  });
  const job = { stateDir: join(tmp.path, 'state'), info: { path: jobFile, name: 'job', hostname: 'testhost' } };
  const run = (sources: SourceReport[]): RunReport =>
    makeRunReport({ sources, startedAt: sources[0]!.startedAt, jobName: 'job', jobPath: jobFile, hostname: 'testhost' });
  // docs: nightly for a week with a gap of three nights (overdue), one night with a warning;
  // broken: a success five days ago, then failures with a hostile error.
  for (const h of [170, 146, 122, 50, 26]) await appendHistory(job, run([sourceRun('docs', h, 'success', 1000 + h), ...(h === 122 ? [sourceRun('broken', h, 'success', 500)] : [])]));
  await appendHistory(job, run([sourceRun('docs', 14, 'success', 1100, ['file changed as we read it'])]));
  await appendHistory(job, run([sourceRun('broken', 13, 'failure')]));
  // Three real runs: docs succeeds (growing), broken fails (its folder is missing): exit 1.
  for (let i = 0; i < 3; i++) {
    await writeFile(join(data, `grown-${i}.txt`), 'x'.repeat(20_000 * (i + 1)));
    const result = await runCli([jobFile]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr, result.stderr).toMatch(/source broken failed: cannot read .*missing: does not exist/);
    expect(result.stderr, result.stderr).not.toMatch(/source docs failed/);
  }
  afterRuns = new Date(Date.now() + 1000).toISOString();
  // A run on the destination that is not whole: our file name, no manifest.
  await mkdir(join(tmp.path, 'store', 'docs', '20260101020000'), { recursive: true });
  await writeFile(join(tmp.path, 'store', 'docs', '20260101020000', 'docs.tar.zst.gpg'), 'not a whole run');
}

describeWith(['tar', 'zstd'], 'backup report --html', () => {
  beforeAll(async () => {
    await setUp();
    const result = await runCli(['report', jobFile, '--html', join(tmp.path, 'report.html')]);
    expect(result.code, result.stderr).toBe(0);
    page = await readFile(join(tmp.path, 'report.html'), 'utf8');
  }, 120_000);
  afterAll(() => tmp?.remove());

  it('is one page that fetches nothing, with every string of the history escaped', () => {
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page).not.toMatch(/<[a-z][^>]*\ssrc=|<[a-z][^>]*\shref="(?!#)|<link|url\(|@import/i);
    expect(page).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<script>alert');
    expect(page).toContain('&#60;img src=x onerror=&#34;alert(1)&#34;&#62; &#38; &#39;quoted&#39; &#60;/table&#62;&#60;script&#62;alert(2)&#60;/script&#62;');
    expect(page).toContain('file changed as we read it');
  });

  it('per source: timeline, age, sizes, duration, throughput and the runs stored, drawn from the data', async () => {
    const ids = chartsOf(page).map((c) => c.id);
    expect(ids).toEqual(['s0-timeline', 's0-age', 's0-size', 's0-duration', 's0-throughput', 's0-stored', 's1-timeline', 's1-age', 's1-size', 's1-duration', 's1-throughput']);
    const history = JSON.parse((await runCli(['history', jobFile, '--json'])).stdout) as { source: string; status: string; warnings: string[]; throughput_bytes_per_second?: number; raw_bytes?: number }[];
    const docs = history.filter((r) => r.source === 'docs');
    const broken = history.filter((r) => r.source === 'broken');
    expect(docs.map((r) => r.status), JSON.stringify(history)).toHaveLength(9);
    expect(broken).toHaveLength(5);
    const expected = Object.fromEntries(chartsOf(page).map((c) => [c.id, c.expected]));
    // docs: one bar per run plus one overdue span (the three missed nights).
    expect(expected['s0-timeline']).toBe(docs.length + 1);
    expect(expected['s0-size']).toBe(docs.length * 2);
    expect(expected['s0-duration']).toBe(docs.length);
    expect(expected['s0-throughput']).toBe(docs.filter((r) => r.throughput_bytes_per_second !== undefined).length);
    // broken: its runs, and overdue from the first failure after its success 5 days ago went past 3 days.
    expect(expected['s1-timeline']).toBe(broken.length + 1);
    expect(expected['s1-size']).toBe(2);
    // The destination holds the three real runs and the one that is not whole.
    expect(expected['s0-stored']).toBe(4);
    expect(page).toMatch(/data-mark="incomplete"/);
    expect(page.match(/data-mark="complete"/g)).toHaveLength(3);
    expect(page.match(/data-mark="warning"/g)).toHaveLength(1);
    expect(page.match(/<svg class="chart" id="s0-timeline"[\s\S]*?<\/svg>/)![0].match(/data-mark="overdue"/g)).toHaveLength(1);
    // The same findings as `status --json`.
    const status = JSON.parse((await runCli(['status', jobFile, '--json'])).stdout) as { sources: { id: string; state: string; reason: string }[] };
    expect(status.sources.map((s) => [s.id, s.state])).toEqual([
      ['docs', 'OK'],
      ['broken', 'OVERDUE'],
    ]);
    expect(page).toContain(`<td>${status.sources[1]!.reason}</td>`);
  });

  it('--since narrows the window and --source the sources; bad values are usage errors', async () => {
    const out = join(tmp.path, 'recent.html');
    expect((await runCli(['report', jobFile, '--html', out, '--since', '20h', '--source', 'docs'])).code).toBe(0);
    const recent = await readFile(out, 'utf8');
    const charts = Object.fromEntries(chartsOf(recent).map((c) => [c.id, c.expected]));
    expect(Object.keys(charts)).toEqual(['s0-timeline', 's0-age', 's0-size', 's0-duration', 's0-throughput', 's0-stored']);
    expect(charts['s0-timeline']).toBe(4); // the warning 14 h ago and the three real runs; no overdue span
    expect(recent).not.toContain('id="source-broken"');
    expect((await runCli(['report', jobFile, '--html', out, '--since', 'yesterday'])).code).toBe(2);
    expect((await runCli(['report', jobFile, '--html', out, '--source', 'doc'])).code).toBe(2);
    const stdout = await runCli(['report', jobFile, '--html', '-', '--no-destinations']);
    expect(stdout.code).toBe(0);
    expect(stdout.stdout).toContain('not listed (--no-destinations)');
    expect(chartsOf(stdout.stdout).map((c) => c.id)).not.toContain('s0-stored');
  });

  it('status and history take --since and --source', async () => {
    const all = JSON.parse((await runCli(['status', jobFile, '--json'])).stdout) as { runs: number; sources: { id: string; runs: number }[] };
    const recent = await runCli(['status', jobFile, '--json', '--since', '20h', '--source', 'docs']);
    expect(recent.code).toBe(0); // broken is OVERDUE, but not asked for
    const status = JSON.parse(recent.stdout) as { runs: number; since: string; overdue: string[]; sources: { id: string; runs: number; successes: number; last_success?: object; age_seconds: number }[] };
    expect(all.runs).toBe(10);
    expect(status.sources.map((s) => s.id)).toEqual(['docs']);
    expect(status.sources[0]).toMatchObject({ runs: 4, successes: 4 });
    expect(status.runs).toBe(4);
    expect(Date.parse(status.since)).toBeLessThan(Date.now() - 19.9 * HOUR);
    // The last success and OVERDUE do not depend on the window.
    const old = JSON.parse((await runCli(['status', jobFile, '--json', '--since', afterRuns, '--source', 'broken'])).stdout) as { overdue: string[]; sources: { runs: number; last_success?: { status: string } }[] };
    expect(old.overdue).toEqual(['broken']);
    expect(old.sources[0]!.runs).toBe(0);
    expect(old.sources[0]!.last_success?.status).toBe('success');
    expect((await runCli(['status', jobFile, '--source', 'nope'])).stderr).toContain('--source: no source "nope" in this job (sources: docs, broken)');
    expect((await runCli(['status', jobFile, '--since', '-3d'])).code).toBe(2);

    const rows = JSON.parse((await runCli(['history', jobFile, '--json', '--since', '20h'])).stdout) as { source: string }[];
    expect(rows.map((r) => r.source).sort()).toEqual(['broken', 'broken', 'broken', 'broken', 'docs', 'docs', 'docs', 'docs']);
    const since = new Date(Date.now() - 20 * HOUR).toISOString().slice(0, 19);
    const dated = JSON.parse((await runCli(['history', jobFile, '--json', '--since', since, '--source', 'docs,broken'])).stdout) as unknown[];
    expect(dated).toHaveLength(8);
    const table = await runCli(['history', jobFile, '--since', '1s', '--source', 'docs']);
    expect(table.stdout).toMatch(/^no runs recorded for source docs since /);
  });

  describeWith(['chromium'], 'in headless Chromium', () => {
    /** The page after Chromium loaded it and ran its script, and what Chromium logged. */
    async function browse(file: string): Promise<{ dom: string; log: string }> {
      const profile = join(tmp.path, `chromium-${Date.now()}`);
      const { stdout, stderr } = await promisify(execFile)(
        findBinary('chromium')!,
        ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0', '--dump-dom', `file://${file}`],
        { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 },
      );
      return { dom: stdout, log: stderr };
    }

    function consoleLines(log: string): string[] {
      return log.split('\n').filter((l) => /CONSOLE|Uncaught|Refused to/i.test(l));
    }

    it('draws every mark of every chart, with no console message', async () => {
      const { dom, log } = await browse(join(tmp.path, 'report.html'));
      expect(consoleLines(log)).toEqual([]);
      const charts = chartsOf(dom);
      expect(charts).toHaveLength(11);
      for (const c of charts) {
        expect(c.expected, c.id).toBeGreaterThan(0);
        expect(c.drawn, c.id).toBe(c.expected);
      }
      const summary = JSON.parse(/data-charts="([^"]*)"/.exec(dom)![1]!.replace(/&quot;/g, '"')) as { charts: number; drawn: number; marks: number; incomplete: string[] };
      expect(summary).toEqual({ charts: 11, drawn: 11, marks: charts.reduce((n, c) => n + c.expected, 0), incomplete: [] });
      expect(/<html[^>]*data-errors/.test(dom)).toBe(false);
    }, 90_000);

    it('and would tell: a mark without a size, an injected script and a script error are seen', async () => {
      const broken = page
        .replace(/(<svg class="chart" id="s0-duration"[^>]*>[\s\S]*?<circle data-mark="point"[^>]*?) r="3.5"/, '$1 r="0"')
        .replace('</body>', '<script>window.injected = 1;</script></body>')
        .replace('if (document.readyState', 'undefinedFunction(); if (document.readyState');
      const file = join(tmp.path, 'broken.html');
      await writeFile(file, broken);
      const { dom, log } = await browse(file);
      // The page's own script no longer matches its hash: it is refused too, so nothing is counted.
      expect(consoleLines(log).length).toBeGreaterThanOrEqual(2);
      expect(dom).not.toContain('data-charts=');
      // With the hash left alone, a mark without a size shows in the counts.
      const sizeless = page.replace(/(<svg class="chart" id="s0-duration"[^>]*>[\s\S]*?<circle data-mark="point"[^>]*?) r="3.5"/, '$1 r="0"');
      expect(sizeless).not.toBe(page);
      await writeFile(file, sizeless);
      const second = await browse(file);
      expect(consoleLines(second.log)).toEqual([]);
      const duration = chartsOf(second.dom).find((c) => c.id === 's0-duration')!;
      expect(duration.drawn).toBe(duration.expected - 1);
      expect(second.dom).toMatch(/data-charts="[^"]*s0-duration/);
    }, 90_000);
  });
});
