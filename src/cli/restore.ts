/** `backup list`, `backup restore`, `backup verify`. */
import { ExitCode } from '../errors.js';
import { formatBytes } from '../notifications/message.js';
import { listJob } from '../pipeline/list.js';
import { describeOwner } from '../pipeline/runs.js';
import { onlySourceId, restore, type RestoreOptions } from '../pipeline/restore.js';
import { verify } from '../pipeline/verify.js';
import { withJob, type GlobalOptions } from './context.js';


export function commandList(path: string, options: GlobalOptions & { source?: string; destination?: string; json?: boolean }): Promise<number> {
  return withJob(path, options, async (job, logger) => {
    const listing = await listJob(job, options, logger);
    if (options.json) process.stdout.write(`${JSON.stringify(listing.runs, null, 2)}\n`);
    else {
      const table = listing.runs.map((r) => [r.destination, r.source, r.run, r.time, r.state === 'other' ? `other (${describeOwner(r.owner)})` : r.state, `${r.files} file(s)`, formatBytes(r.bytes), r.state === 'complete' || !r.note ? '' : r.note]);
      if (table.length === 0 && listing.problems.length === 0) process.stdout.write('no runs stored\n');
      else if (table.length > 0) process.stdout.write(formatTable(['DESTINATION', 'SOURCE', 'RUN', 'STARTED (UTC)', 'STATE', 'FILES', 'SIZE', 'NOTE'], table));
      if (listing.leftovers.length) {
        const bytes = listing.leftovers.reduce((n, l) => n + (l.size ?? 0), 0);
        process.stdout.write(`\n${listing.leftovers.length} unfinished upload(s) (${formatBytes(bytes)}) from interrupted runs; the next run of this job sweeps those no live run owns:\n`);
        for (const l of listing.leftovers) process.stdout.write(`  ${l.destination}\t${l.key}${l.size === undefined ? '' : `\t${formatBytes(l.size)}`}\n`);
      }
    }
    for (const p of listing.problems) process.stderr.write(`backup: cannot list ${p.destination}: ${p.error}\n`);
    return listing.problems.length ? ExitCode.failed : ExitCode.ok;
  });
}

/** Columns padded to their widest cell, tab-free so it reads in a terminal and pastes into a ticket. */
function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

export type RestoreCommandOptions = GlobalOptions & Omit<RestoreOptions, 'identityPassphrase'>;

export function commandRestore(path: string, options: RestoreCommandOptions): Promise<number> {
  return withJob(path, options, async (job, logger) => {
    const result = await restore(job, { ...options, identityPassphrase: process.env.BACKUP_IDENTITY_PASSPHRASE }, logger);
    if (options.to !== '-') {
      process.stderr.write(`restored ${options.source ?? onlySourceId(job)} run ${result.run} from ${result.destination}: ${result.files.join(', ')}\n`);
    }
    return ExitCode.ok;
  });
}

export function commandVerify(path: string, options: GlobalOptions & { source?: string; destination?: string; run?: string; identity?: string }): Promise<number> {
  return withJob(path, options, async (job, logger) => {
    const results = await verify(job, { ...options, identityPassphrase: process.env.BACKUP_IDENTITY_PASSPHRASE }, logger);
    for (const r of results) {
      process.stdout.write(`${r.ok ? 'OK    ' : 'FAILED'} ${r.source} on ${r.destination}${r.run ? ` run ${r.run}` : ''}${r.error ? `: ${r.error}` : ''}\n`);
      if (r.run && r.why) process.stdout.write(`       checked run ${r.run}: ${r.why}\n`);
      for (const f of r.files) {
        process.stdout.write(`       ${f.ok ? 'ok' : 'BAD'} ${f.file} (${formatBytes(f.plainBytes)} plain)${f.error ? `: ${f.error}` : ''}\n`);
      }
    }
    return results.length > 0 && results.every((r) => r.ok) ? ExitCode.ok : ExitCode.failed;
  });
}
