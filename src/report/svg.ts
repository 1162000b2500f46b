/**
 * The report's charts, drawn as SVG from the data: a time axis shared by a source's charts,
 * line charts with a dot per run, a status timeline, an age gauge and a strip of stored runs.
 *
 * Every drawn datum (a dot, a bar, a span) carries `data-mark`; each chart says how many it drew
 * (`data-expected`), so the page's script, or a test in a browser, can check they all have a size.
 * Every string that reaches the markup goes through `esc`.
 */
import { redact } from '../secrets.js';

/** Text and attribute values: redacted (in case), then &, <, >, " and ' escaped. */
export function esc(value: unknown): string {
  return redact(String(value ?? '')).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface TimeDomain {
  from: number;
  to: number;
}

export interface Point {
  t: number;
  v: number;
  /** Tooltip. */
  title: string;
}

export interface Series {
  name: string;
  color: string;
  points: Point[];
  dashed?: boolean;
}

export const WIDTH = 560;
const MARGIN = { left: 70, right: 14, top: 22, bottom: 24 };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 91 * DAY, 365 * DAY];

/** A domain that has some width: one instant becomes an hour around it. */
export function timeDomain(from: number, to: number): TimeDomain {
  if (!(to > from)) return { from: from - HOUR / 2, to: from + HOUR / 2 };
  return { from, to };
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function timeX(domain: TimeDomain, t: number, left = MARGIN.left, right = WIDTH - MARGIN.right): number {
  return left + ((t - domain.from) / (domain.to - domain.from)) * (right - left);
}

function tickLabel(t: number, step: number): string {
  const iso = new Date(t).toISOString();
  return step < DAY ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10);
}

/** Gridlines and labels of the time axis (UTC) along the bottom of a plot. */
function timeAxis(domain: TimeDomain, top: number, bottom: number, left = MARGIN.left, right = WIDTH - MARGIN.right): string {
  const span = domain.to - domain.from;
  const step = TIME_STEPS.find((s) => span / s <= 4) ?? TIME_STEPS.at(-1)!;
  const parts: string[] = [`<line class="axis" x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}"/>`];
  for (let t = Math.ceil(domain.from / step) * step; t <= domain.to; t += step) {
    const x = fmt(timeX(domain, t, left, right));
    parts.push(`<line class="grid" x1="${x}" y1="${top}" x2="${x}" y2="${bottom}"/>`);
    parts.push(`<text class="tick" x="${x}" y="${bottom + 14}" text-anchor="middle">${esc(tickLabel(t, step))}</text>`);
  }
  return parts.join('');
}

/** 1, 2, 2.5, 5 times a power of ten at or above v. */
function niceCeil(v: number, binary = false): number {
  if (!(v > 0)) return 1;
  if (binary && v >= 1024) {
    const unit = 1024 ** Math.floor(Math.log(v) / Math.log(1024));
    return niceCeil(v / unit) * unit;
  }
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 2.5, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

function svgOpen(id: string, height: number, label: string, marks: number): string {
  return `<svg class="chart" id="${esc(id)}" role="img" aria-label="${esc(label)}" data-expected="${marks}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" xmlns="http://www.w3.org/2000/svg">`;
}

function legend(items: readonly { name: string; color: string; shape?: 'dot' | 'box' }[], y = 12): string {
  let x = MARGIN.left;
  const parts: string[] = [];
  for (const item of items) {
    parts.push(
      item.shape === 'box'
        ? `<rect x="${x}" y="${y - 8}" width="10" height="10" fill="${item.color}"/>`
        : `<circle cx="${x + 5}" cy="${y - 3}" r="4" fill="${item.color}"/>`,
    );
    parts.push(`<text class="legend" x="${x + 14}" y="${y}">${esc(item.name)}</text>`);
    x += 24 + item.name.length * 6.5;
  }
  return parts.join('');
}

/** A line chart over time: one dot per point (the marks), a line through each series. */
export function lineChart(options: {
  id: string;
  label: string;
  domain: TimeDomain;
  series: readonly Series[];
  format: (v: number) => string;
  /** Bytes: the axis ends at a round number of KiB, MiB, GiB. */
  binary?: boolean;
  height?: number;
}): string {
  const height = options.height ?? 170;
  const top = MARGIN.top;
  const bottom = height - MARGIN.bottom;
  const max = niceCeil(Math.max(0, ...options.series.flatMap((s) => s.points.map((p) => p.v))) * 1.05, options.binary);
  const y = (v: number) => bottom - (v / max) * (bottom - top);
  const marks = options.series.reduce((n, s) => n + s.points.length, 0);
  const parts = [svgOpen(options.id, height, options.label, marks), timeAxis(options.domain, top, bottom)];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    const yy = fmt(y(v));
    parts.push(`<line class="${i ? 'grid' : 'axis'}" x1="${MARGIN.left}" y1="${yy}" x2="${WIDTH - MARGIN.right}" y2="${yy}"/>`);
    parts.push(`<text class="tick" x="${MARGIN.left - 6}" y="${fmt(y(v) + 4)}" text-anchor="end">${esc(options.format(v))}</text>`);
  }
  for (const s of options.series) {
    const points = [...s.points].sort((a, b) => a.t - b.t);
    if (points.length > 1) {
      const path = points.map((p) => `${fmt(timeX(options.domain, p.t))},${fmt(y(p.v))}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${path}"/>`);
    }
    for (const p of points) {
      parts.push(`<circle data-mark="point" cx="${fmt(timeX(options.domain, p.t))}" cy="${fmt(y(p.v))}" r="3.5" fill="${s.color}"><title>${esc(p.title)}</title></circle>`);
    }
  }
  parts.push(legend(options.series.map((s) => ({ name: s.name, color: s.color }))));
  parts.push('</svg>');
  return parts.join('');
}

export const STATUS_COLORS = {
  success: '#2e9d5b',
  warning: '#e0a100',
  failure: '#d64541',
  running: '#3b7dd8',
  overdue: '#f4c7c3',
} as const;

export interface TimelineRun {
  t: number;
  mark: keyof typeof STATUS_COLORS;
  title: string;
}

/** Runs as bars coloured by outcome, over bands where the source was overdue. */
export function timeline(options: { id: string; label: string; domain: TimeDomain; runs: readonly TimelineRun[]; overdue: readonly { from: number; to: number; title: string }[] }): string {
  const height = 92;
  const top = MARGIN.top + 4;
  const bottom = height - MARGIN.bottom;
  const marks = options.runs.length + options.overdue.length;
  const parts = [svgOpen(options.id, height, options.label, marks), timeAxis(options.domain, top, bottom)];
  for (const span of options.overdue) {
    const x1 = timeX(options.domain, span.from);
    const x2 = Math.max(timeX(options.domain, span.to), x1 + 2);
    parts.push(`<rect data-mark="overdue" x="${fmt(x1)}" y="${top}" width="${fmt(x2 - x1)}" height="${bottom - top}" fill="${STATUS_COLORS.overdue}"><title>${esc(span.title)}</title></rect>`);
  }
  for (const run of options.runs) {
    const x = timeX(options.domain, run.t);
    parts.push(`<rect data-mark="${run.mark}" x="${fmt(x - 3)}" y="${top + 6}" width="6" height="${bottom - top - 12}" rx="1.5" fill="${STATUS_COLORS[run.mark]}"><title>${esc(run.title)}</title></rect>`);
  }
  parts.push(
    legend([
      { name: 'success', color: STATUS_COLORS.success, shape: 'box' },
      { name: 'warning', color: STATUS_COLORS.warning, shape: 'box' },
      { name: 'failure', color: STATUS_COLORS.failure, shape: 'box' },
      { name: 'overdue', color: STATUS_COLORS.overdue, shape: 'box' },
    ]),
  );
  parts.push('</svg>');
  return parts.join('');
}

/** The age of the last success as a bar against max_age (a line); red past it. */
export function ageGauge(options: { id: string; label: string; ageSeconds?: number; maxAgeSeconds?: number; format: (s: number) => string }): string {
  const height = 64;
  const left = MARGIN.left;
  const right = WIDTH - MARGIN.right;
  const { ageSeconds: age, maxAgeSeconds: maxAge } = options;
  const scale = Math.max(maxAge !== undefined ? maxAge * 1.5 : 0, age !== undefined ? age * 1.1 : 0, 1);
  const x = (s: number) => left + (Math.min(s, scale) / scale) * (right - left);
  const over = maxAge !== undefined && (age === undefined || age > maxAge);
  const parts = [svgOpen(options.id, height, options.label, 1)];
  parts.push(`<rect class="track" x="${left}" y="14" width="${right - left}" height="18" rx="3"/>`);
  if (age === undefined) {
    parts.push(`<rect data-mark="age" x="${left}" y="14" width="${right - left}" height="18" rx="3" fill="${STATUS_COLORS.overdue}"><title>no success recorded</title></rect>`);
    parts.push(`<text class="value" x="${left + 8}" y="28">no success recorded</text>`);
  } else {
    const w = Math.max(2, x(age) - left);
    parts.push(`<rect data-mark="age" x="${left}" y="14" width="${fmt(w)}" height="18" rx="3" fill="${over ? STATUS_COLORS.failure : STATUS_COLORS.success}"><title>${esc(`last success ${options.format(age)} ago`)}</title></rect>`);
    parts.push(`<text class="value" x="${fmt(Math.min(left + w + 6, right - 90))}" y="28">${esc(`${options.format(age)} ago`)}</text>`);
  }
  parts.push(`<text class="tick" x="${left - 6}" y="28" text-anchor="end">age</text>`);
  if (maxAge !== undefined) {
    const mx = fmt(x(maxAge));
    parts.push(`<line class="limit" x1="${mx}" y1="8" x2="${mx}" y2="38"/>`);
    parts.push(`<text class="tick" x="${mx}" y="52" text-anchor="middle">${esc(`max_age ${options.format(maxAge)}`)}</text>`);
  } else {
    parts.push(`<text class="tick" x="${left}" y="52">no max_age set</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

export const STATE_COLORS: Record<string, string> = {
  complete: '#2e9d5b',
  legacy: '#4aa3a3',
  running: '#3b7dd8',
  other: '#9a9a9a',
  incomplete: '#d64541',
};

/** One row per destination, a square per stored run at its time, coloured by its state. */
export function storedRuns(options: { id: string; label: string; domain: TimeDomain; rows: readonly { destination: string; runs: readonly { t: number; state: string; title: string }[] }[] }): string {
  const rowHeight = 24;
  const top = MARGIN.top + 4;
  const height = top + rowHeight * options.rows.length + MARGIN.bottom + 4;
  const bottom = height - MARGIN.bottom;
  const marks = options.rows.reduce((n, r) => n + r.runs.length, 0);
  const parts = [svgOpen(options.id, height, options.label, marks), timeAxis(options.domain, top, bottom)];
  options.rows.forEach((row, i) => {
    const cy = top + rowHeight * i + rowHeight / 2;
    parts.push(`<text class="tick" x="${MARGIN.left - 6}" y="${fmt(cy + 4)}" text-anchor="end">${esc(row.destination.length > 10 ? `${row.destination.slice(0, 9)}…` : row.destination)}</text>`);
    for (const run of row.runs) {
      const x = timeX(options.domain, run.t);
      parts.push(`<rect data-mark="${esc(run.state)}" x="${fmt(x - 5)}" y="${fmt(cy - 7)}" width="10" height="14" rx="2" fill="${STATE_COLORS[run.state] ?? STATE_COLORS.other}"><title>${esc(run.title)}</title></rect>`);
    }
  });
  const states = [...new Set(options.rows.flatMap((r) => r.runs.map((x) => x.state)))].sort();
  parts.push(legend(states.map((s) => ({ name: s, color: STATE_COLORS[s] ?? STATE_COLORS.other!, shape: 'box' as const }))));
  parts.push('</svg>');
  return parts.join('');
}
