/** The table printed at the end of a run on a terminal, or with -v. */
import { formatBytes, formatDuration, statusWord } from '../lib/format.js';
import type { DestinationReport, RetentionReport, RunReport, SourceReport } from '../report.js';
import { totalStoredBytes } from '../report.js';
import { redact } from '../secrets.js';

export function printRunSummary(report: RunReport, out: NodeJS.WritableStream): void {
  const lines: string[] = [];
  lines.push(
    report.dryRun
      ? `Dry run of ${report.jobPath} on ${report.hostname}: ${statusWord(report.status)}; nothing was dumped or stored`
      : `Run of ${report.jobPath} on ${report.hostname}: ${statusWord(report.status)} in ${formatDuration(report.durationSeconds)}`,
  );
  if (report.error) lines.push(`  error: ${report.error}`);
  for (const s of report.sources) {
    const sourceFailed = report.dryRun && sourceFailedCheck(s);
    lines.push(
      report.dryRun
        ? `  ${s.id} (${s.type}) ${sourceFailed ? 'FAILED the check' : 'checked: reachable'}`
        : `  ${s.id} (${s.type}) ${statusWord(s.status)}  ${formatBytes(totalStoredBytes(s))}  ${formatDuration(s.durationSeconds)}  run ${s.runKey}`,
    );
    for (const a of s.artifacts) lines.push(`    ${a.file}  ${formatBytes(a.storedBytes)}  sha256 ${a.sha256.slice(0, 16)}…`);
    for (const d of s.destinations) {
      const state = report.dryRun ? dryRunDestinationState(d, sourceFailed) : `${d.status}${d.error ? `: ${d.error}` : ''}`;
      lines.push(`    → ${d.id} (${d.type}): ${state}${d.retention ? `, ${retentionText(d.retention)}` : ''}`);
      if (report.dryRun && d.retention) lines.push(...retentionPlanLines(d.retention));
    }
    if (s.error) lines.push(`    error: ${s.error}`);
    for (const w of s.warnings) lines.push(`    warning: ${w}`);
  }
  out.write(`${redact(lines.join('\n'))}\n`);
}

/**
 * A dry run checks that the source answers (connect, authenticate, path readable), then that
 * each destination is reachable and writable; it dumps nothing. The source failed its check
 * when its error is not just the destinations' errors (which the pipeline joins as its error).
 */
function sourceFailedCheck(s: SourceReport): boolean {
  if (s.error === undefined) return false;
  const fromDestinations = s.destinations.filter((d) => d.status === 'failure').map((d) => `destination ${d.id}: ${d.error}`);
  return s.error !== fromDestinations.join('; ');
}

function dryRunDestinationState(d: DestinationReport, sourceFailed: boolean): string {
  if (d.status === 'failure') return `FAILED the check: ${d.error ?? 'unknown error'}`;
  return sourceFailed ? 'not checked (the source failed its check first)' : 'checked: reachable and writable';
}

/**
 * What retention did, and why it kept what it kept: `kept 4 run(s): 3 copies; 1 run:
 * incomplete, does not count as a copy`. Reports without reasons keep the plain count.
 */
export function retentionText(r: RetentionReport): string {
  if (r.dryRun) return `would remove ${r.deleted.length ? r.deleted.join(' ') : 'nothing'}`;
  return `${keptText(r)}, removed ${r.deleted.length}`;
}

/** A dry run's plan, run by run, newest first: which rule keeps each run, or why it would go. */
function retentionPlanLines(r: RetentionReport): string[] {
  const reasons = r.reasons ?? {};
  const rows = [...r.kept.map((run) => ({ run, verb: 'keep' })), ...r.deleted.map((run) => ({ run, verb: 'would remove' }))];
  rows.sort((a, b) => (a.run < b.run ? 1 : a.run > b.run ? -1 : 0));
  return rows.map(({ run, verb }) => `        ${verb.padEnd(12)} ${run}${reasons[run] ? `: ${reasons[run]}` : ''}`);
}

function keptText(r: RetentionReport): string {
  const head = `kept ${r.kept.length} run(s)`;
  const reasons = r.reasons;
  if (!reasons || r.kept.every((k) => reasons[k] === undefined)) return head;
  const groups = new Map<string, number>();
  for (const key of r.kept) {
    const reason = reasons[key] ?? 'no reason recorded';
    const group = /^copy \d+$/.test(reason) ? 'copies' : reason;
    groups.set(group, (groups.get(group) ?? 0) + 1);
  }
  // Copies first: they are what retention_copies counts; the rest say why they are kept besides.
  const parts = [...groups].sort(([a], [b]) => Number(b === 'copies') - Number(a === 'copies')).map(([reason, n]) => (reason === 'copies' ? `${n} ${n === 1 ? 'copy' : 'copies'}` : `${n} run${n === 1 ? '' : 's'}: ${reason}`));
  return `${head}: ${parts.join('; ')}`;
}
