/**
 * `backup report --html`: one self-contained page (styles and the one script inline, charts as
 * SVG, nothing fetched: the Content-Security-Policy allows no network and only that script).
 *
 * The script checks what the browser drew: per chart (`svg.chart`) the marks with a non-zero
 * size go to `data-drawn`, and the totals to `data-charts` on <html>; script errors to
 * `data-errors`. It logs nothing to the console.
 */
import { createHash } from 'node:crypto';
import { formatBytes, formatDuration } from '../lib/format.js';
import { formatAge } from '../state/status.js';
import type { ReportData, ReportRun, ReportSource } from './data.js';
import { STATE_COLORS, STATUS_COLORS, ageGauge, esc, lineChart, storedRuns, timeDomain, timeline, type TimeDomain } from './svg.js';

/** Runs listed in each source's table, newest first (the charts show them all). */
const TABLE_RUNS = 40;

const STYLE = `
:root { color-scheme: light; --fg: #1d2329; --muted: #5f6b76; --line: #d9dee3; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0; display: flex; gap: 10px; align-items: center; }
h3 { font-size: 13px; margin: 14px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.meta { color: var(--muted); margin: 0 0 18px; }
section, .summary { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; margin: 0 0 18px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.err { color: #a12d29; max-width: 420px; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; }
.badge.OK, .badge.success, .badge.complete { background: ${STATUS_COLORS.success}; }
.badge.OVERDUE, .badge.FAILED, .badge.failure, .badge.incomplete { background: ${STATUS_COLORS.failure}; }
.badge.warning { background: ${STATUS_COLORS.warning}; }
.badge.running { background: ${STATUS_COLORS.running}; }
.badge.legacy { background: ${STATE_COLORS.legacy}; }
.badge.NO-HISTORY, .badge.other, .badge.skipped { background: #8a949c; }
.reason { color: var(--muted); margin: 4px 0 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 4px 24px; }
svg.chart { display: block; width: 100%; max-width: 560px; height: auto; }
svg .axis { stroke: #9aa4ad; stroke-width: 1; }
svg .grid { stroke: #eceff2; stroke-width: 1; }
svg .limit { stroke: #1d2329; stroke-width: 2; stroke-dasharray: 4 2; }
svg .track { fill: #eceff2; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg text.value { fill: var(--fg); font-weight: 600; }
svg text.legend { fill: var(--fg); }
.empty { color: var(--muted); font-style: italic; margin: 6px 0; }
.problem { color: #a12d29; }
details summary { cursor: pointer; color: var(--muted); margin-top: 8px; }
`;

/** Counts the marks the browser drew with a size; records script errors. Logs nothing. */
const SCRIPT = `(function () {
  var root = document.documentElement;
  var errors = 0;
  window.addEventListener('error', function () { errors += 1; root.setAttribute('data-errors', String(errors)); });
  function check() {
    var charts = document.querySelectorAll('svg.chart');
    var drawn = 0, marks = 0, empty = [];
    for (var i = 0; i < charts.length; i++) {
      var svg = charts[i], n = 0, all = svg.querySelectorAll('[data-mark]');
      for (var j = 0; j < all.length; j++) {
        var box = all[j].getBBox(), rect = all[j].getBoundingClientRect();
        if (box.width > 0 && box.height > 0 && rect.width > 0 && rect.height > 0) n += 1;
      }
      svg.setAttribute('data-drawn', String(n));
      marks += n;
      if (n > 0 && String(n) === svg.getAttribute('data-expected')) drawn += 1; else empty.push(svg.id);
    }
    root.setAttribute('data-charts', JSON.stringify({ charts: charts.length, drawn: drawn, marks: marks, incomplete: empty }));
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', check); else check();
})();`;

function when(iso: string | undefined): string {
  return iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '-';
}

function rate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Axis labels: short runs in hundredths, so that the ticks stay apart. */
function axisDuration(seconds: number): string {
  return seconds < 10 ? `${Number(seconds.toFixed(2))}s` : formatDuration(seconds);
}

function badge(text: string): string {
  return `<span class="badge ${esc(text.replace(/\s+/g, '-'))}">${esc(text)}</span>`;
}

function runTitle(r: ReportRun): string {
  const parts = [`${when(r.started_at)} ${r.mark}`];
  if (r.duration_seconds !== undefined) parts.push(formatDuration(r.duration_seconds));
  if (r.stored_bytes) parts.push(`${formatBytes(r.stored_bytes)} stored`);
  if (r.error) parts.push(r.error);
  if (r.warnings.length) parts.push(r.warnings.join('; '));
  return parts.join(' · ');
}

function chartOrEmpty(points: number, chart: () => string, what: string): string {
  return points > 0 ? chart() : `<p class="empty">${esc(what)}</p>`;
}

function sourceSection(source: ReportSource, index: number, domain: TimeDomain): string {
  const s = source.status;
  const key = `s${index}`;
  const t = (r: ReportRun) => Date.parse(r.started_at);
  const done = source.runs.filter((r) => r.mark !== 'failure' && r.mark !== 'running');
  const parts: string[] = [`<section id="source-${esc(s.id)}">`];
  parts.push(`<h2>${esc(s.id)}${s.name && s.name !== s.id ? ` <small>${esc(s.name)}</small>` : ''} ${badge(s.state)}</h2>`);
  parts.push(`<p class="reason">${esc(s.type ?? '')}${s.type ? ' · ' : ''}${esc(s.reason || 'no run recorded')}</p>`);

  parts.push('<div class="charts"><div>');
  parts.push('<h3>Status</h3>');
  parts.push(
    chartOrEmpty(
      source.runs.length + source.overdue.length,
      () =>
        timeline({
          id: `${key}-timeline`,
          label: `${s.id}: runs by outcome and overdue spans`,
          domain,
          runs: source.runs.map((r) => ({ t: t(r), mark: r.mark, title: runTitle(r) })),
          overdue: source.overdue.map((o) => ({ from: Date.parse(o.from), to: Date.parse(o.to), title: `overdue ${when(o.from)} – ${when(o.to)}` })),
        }),
      'no run in this window',
    ),
  );
  parts.push('<h3>Age of the last success</h3>');
  parts.push(ageGauge({ id: `${key}-age`, label: `${s.id}: age of the last success against max_age`, ageSeconds: s.age_seconds, maxAgeSeconds: s.max_age_seconds, format: formatAge }));
  parts.push('</div><div>');
  const stored = done.map((r) => ({ t: t(r), v: r.stored_bytes, title: `${when(r.started_at)}: ${formatBytes(r.stored_bytes)} stored` }));
  const raw = done.filter((r) => r.raw_bytes !== undefined).map((r) => ({ t: t(r), v: r.raw_bytes!, title: `${when(r.started_at)}: ${formatBytes(r.raw_bytes!)} raw` }));
  parts.push('<h3>Size</h3>');
  parts.push(
    chartOrEmpty(
      stored.length + raw.length,
      () =>
        lineChart({
          id: `${key}-size`,
          label: `${s.id}: stored and raw size per run`,
          domain,
          format: formatBytes,
          binary: true,
          series: [
            { name: 'raw', color: '#8a6fd1', points: raw, dashed: true },
            { name: 'stored', color: '#2f6fb5', points: stored },
          ].filter((x) => x.points.length > 0),
        }),
      'no successful run in this window',
    ),
  );
  parts.push('</div><div>');
  const durations = source.runs.filter((r) => r.duration_seconds !== undefined).map((r) => ({ t: t(r), v: r.duration_seconds!, title: `${when(r.started_at)} ${r.mark}: ${formatDuration(r.duration_seconds)}` }));
  parts.push('<h3>Duration</h3>');
  parts.push(
    chartOrEmpty(
      durations.length,
      () => lineChart({ id: `${key}-duration`, label: `${s.id}: duration per run`, domain, format: axisDuration, series: [{ name: 'duration', color: '#c2672f', points: durations }] }),
      'no run with a duration in this window',
    ),
  );
  parts.push('</div><div>');
  const throughput = done
    .filter((r) => r.throughput_bytes_per_second !== undefined)
    .map((r) => ({ t: t(r), v: r.throughput_bytes_per_second!, title: `${when(r.started_at)}: ${rate(r.throughput_bytes_per_second!)}` }));
  parts.push('<h3>Throughput</h3>');
  parts.push(
    chartOrEmpty(
      throughput.length,
      () => lineChart({ id: `${key}-throughput`, label: `${s.id}: throughput per run`, domain, format: rate, binary: true, series: [{ name: 'throughput', color: '#2a9d8f', points: throughput }] }),
      'no throughput measured in this window',
    ),
  );
  parts.push('</div></div>');

  // Summary numbers, as `backup status` gives them.
  parts.push('<table><tr><th>runs</th><th>success rate</th><th>average time</th><th>last run</th><th>last success</th><th>age</th><th>max_age</th><th>last size</th></tr><tr>');
  parts.push(
    [
      String(s.runs),
      s.success_rate === undefined ? '-' : `${Math.round(s.success_rate * 100)}% (${s.successes}/${s.runs})`,
      s.average_duration_seconds === undefined ? '-' : formatDuration(s.average_duration_seconds),
      s.last_run ? `${when(s.last_run.started_at)} ${s.last_run.status}` : '-',
      when(s.last_success?.finished_at ?? s.last_success?.started_at),
      s.age_seconds === undefined ? '-' : formatAge(s.age_seconds),
      s.max_age_seconds === undefined ? '-' : formatAge(s.max_age_seconds),
      s.size_trend ? formatBytes(s.size_trend.last_bytes) : '-',
    ]
      .map((c) => `<td>${esc(c)}</td>`)
      .join(''),
  );
  parts.push('</tr></table>');

  parts.push(storedSection(source, key, domain));

  if (source.runs.length) {
    const rows = source.runs.slice(-TABLE_RUNS).reverse();
    parts.push(`<details${source.runs.some((r) => r.mark === 'failure') ? ' open' : ''}><summary>Runs in this window (${source.runs.length}${source.runs.length > TABLE_RUNS ? `, newest ${TABLE_RUNS} listed` : ''})</summary>`);
    parts.push('<table><tr><th>started</th><th>outcome</th><th>duration</th><th>raw</th><th>stored</th><th>throughput</th><th>destinations</th><th>error / warnings</th></tr>');
    for (const r of rows) {
      parts.push(
        `<tr><td>${esc(when(r.started_at))}</td><td>${badge(r.mark)}</td><td class="num">${esc(formatDuration(r.duration_seconds))}</td>` +
          `<td class="num">${esc(r.raw_bytes === undefined ? '-' : formatBytes(r.raw_bytes))}</td><td class="num">${esc(formatBytes(r.stored_bytes))}</td>` +
          `<td class="num">${esc(r.throughput_bytes_per_second === undefined ? '-' : rate(r.throughput_bytes_per_second))}</td>` +
          `<td>${r.destinations.map((d) => `${esc(d.id)}: ${esc(d.status)}`).join('<br>')}</td>` +
          `<td class="err">${esc([r.error, ...r.destinations.filter((d) => d.error).map((d) => `${d.id}: ${d.error}`), ...r.warnings].filter(Boolean).join(' · '))}</td></tr>`,
      );
    }
    parts.push('</table></details>');
  }
  parts.push('</section>');
  return parts.join('\n');
}

function storedSection(source: ReportSource, key: string, domain: TimeDomain): string {
  if (!source.stored.length) return '';
  const parts = ['<h3>Runs on the destinations</h3>'];
  const times = source.stored.map((r) => Date.parse(r.time)).filter((t) => Number.isFinite(t));
  const stripDomain = timeDomain(Math.min(domain.from, ...times), Math.max(domain.to, ...times));
  const destinations = [...new Set(source.stored.map((r) => r.destination))];
  parts.push(
    storedRuns({
      id: `${key}-stored`,
      label: `${source.id}: runs stored on each destination by state`,
      domain: stripDomain,
      rows: destinations.map((d) => ({
        destination: d,
        runs: source.stored
          .filter((r) => r.destination === d)
          .map((r) => ({ t: Date.parse(r.time), state: r.state, title: `${d} ${r.run}: ${r.state}, ${r.files} file(s), ${formatBytes(r.bytes)}${r.note ? ` (${r.note})` : ''}` })),
      })),
    }),
  );
  parts.push('<details><summary>Stored runs (' + source.stored.length + ')</summary><table><tr><th>destination</th><th>run</th><th>started</th><th>state</th><th>files</th><th>size</th><th>note</th></tr>');
  for (const r of [...source.stored].sort((a, b) => b.time.localeCompare(a.time))) {
    parts.push(
      `<tr><td>${esc(r.destination)}</td><td>${esc(r.run)}</td><td>${esc(when(r.time))}</td><td>${badge(r.state)}</td><td class="num">${r.files}</td><td class="num">${esc(formatBytes(r.bytes))}</td><td>${esc(r.note ?? '')}</td></tr>`,
    );
  }
  parts.push('</table></details>');
  return parts.join('\n');
}

export function renderReportHtml(data: ReportData): string {
  const st = data.status;
  const domain = timeDomain(Date.parse(data.from), Date.parse(data.to));
  const body: string[] = [];
  body.push(`<h1>Backups of ${esc(st.job)} on ${esc(st.hostname)}</h1>`);
  body.push(
    `<p class="meta">${esc(st.job_file)} · runs from ${esc(when(data.from))} to ${esc(when(data.to))}${st.since ? ` (since ${esc(when(st.since))})` : ''} · generated ${esc(when(data.generated_at))} · history ${esc(st.history_file)}${st.skipped_lines ? ` (${st.skipped_lines} unreadable line(s) skipped)` : ''}</p>`,
  );
  body.push('<div class="summary"><table><tr><th>source</th><th>state</th><th>last success</th><th>age / max_age</th><th>success rate</th><th>why</th></tr>');
  data.sources.forEach((src) => {
    const s = src.status;
    body.push(
      `<tr><td><a href="#source-${esc(s.id)}">${esc(s.id)}</a></td><td>${badge(s.state)}</td><td>${esc(when(s.last_success?.finished_at ?? s.last_success?.started_at))}</td>` +
        `<td>${esc(s.age_seconds === undefined ? '-' : formatAge(s.age_seconds))} / ${esc(s.max_age_seconds === undefined ? '-' : formatAge(s.max_age_seconds))}</td>` +
        `<td>${esc(s.success_rate === undefined ? '-' : `${Math.round(s.success_rate * 100)}% (${s.successes}/${s.runs})`)}</td><td>${esc(s.reason)}</td></tr>`,
    );
  });
  body.push('</table>');
  if (!data.listed) body.push('<p class="reason">The destinations were not listed (--no-destinations).</p>');
  for (const p of data.problems) body.push(`<p class="problem">Cannot list ${esc(p.destination)}: ${esc(p.error)}</p>`);
  if (data.leftovers.length) body.push(`<p class="reason">${data.leftovers.length} unfinished upload(s) from interrupted runs (the next run sweeps those no live run owns).</p>`);
  body.push('</div>');
  data.sources.forEach((src, i) => body.push(sourceSection(src, i, domain)));

  const hash = createHash('sha256').update(SCRIPT).digest('base64');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; img-src data:; base-uri 'none'; form-action 'none'`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`Backups of ${st.job} on ${st.hostname}`)}</title>
<style>${STYLE}</style>
</head>
<body>
${body.join('\n')}
<script>${SCRIPT}</script>
</body>
</html>
`;
}
