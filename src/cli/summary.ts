/** The table printed at the end of a run on a terminal, or with -v. */
import { formatBytes, formatDuration, statusWord } from '../notifications/message.js';
import type { RunReport } from '../report.js';
import { totalStoredBytes } from '../report.js';
import { redact } from '../secrets.js';

export function printRunSummary(report: RunReport, out: NodeJS.WritableStream): void {
  const lines: string[] = [];
  lines.push(`${report.dryRun ? 'Dry run' : 'Run'} of ${report.jobPath} on ${report.hostname}: ${statusWord(report.status)} in ${formatDuration(report.durationSeconds)}`);
  if (report.error) lines.push(`  error: ${report.error}`);
  for (const s of report.sources) {
    lines.push(`  ${s.id} (${s.type}) ${statusWord(s.status)}  ${formatBytes(totalStoredBytes(s))}  ${formatDuration(s.durationSeconds)}  run ${s.runKey}`);
    for (const a of s.artifacts) lines.push(`    ${a.file}  ${formatBytes(a.storedBytes)}  sha256 ${a.sha256.slice(0, 16)}…`);
    for (const d of s.destinations) {
      const retention = d.retention
        ? d.retention.dryRun
          ? `, would remove ${d.retention.deleted.length ? d.retention.deleted.join(' ') : 'nothing'}`
          : `, kept ${d.retention.kept.length} run(s), removed ${d.retention.deleted.length}`
        : '';
      lines.push(`    → ${d.id} (${d.type}): ${d.status}${d.error ? `: ${d.error}` : ''}${retention}`);
    }
    if (s.error) lines.push(`    error: ${s.error}`);
    for (const w of s.warnings) lines.push(`    warning: ${w}`);
  }
  out.write(`${redact(lines.join('\n'))}\n`);
}
