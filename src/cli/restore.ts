/** `backup list`, `backup files`, `backup restore`, `backup verify`. */
import { ExitCode, UsageError } from '../errors.js';
import { formatBytes } from '../lib/format.js';
import { listJob } from '../pipeline/list.js';
import { describeOwner } from '../pipeline/runs.js';
import { onlySourceId, restore, type RestoreOptions } from '../pipeline/restore.js';
import { verify } from '../pipeline/verify.js';
import { listFiles } from '../pipeline/files.js';
import { spotCheck } from '../pipeline/spot-check.js';
import type { TarMember } from '../pipeline/tar-members.js';
import { displayName } from '../pipeline/tar-members.js';
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

export type FilesCommandOptions = GlobalOptions & { source?: string; run: string; destination?: string; identity?: string };

/** One line per member: type and mode, owner, size in bytes, mtime (UTC), path (-> link target). */
function formatMember(m: TarMember): string {
  const link = m.target === undefined ? '' : m.type === 'h' ? ` link to ${displayName(m.target)}` : ` -> ${m.target}`;
  return `${m.type}${m.mode} ${m.owner.padEnd(9)} ${String(m.size).padStart(12)} ${m.mtime} ${displayName(m.name)}${link}\n`;
}

export function commandFiles(path: string, patterns: string[], options: FilesCommandOptions): Promise<number> {
  return withJob(path, options, async (job, logger) => {
    const result = await listFiles(job, { ...options, patterns, identityPassphrase: process.env.BACKUP_IDENTITY_PASSPHRASE }, logger, (m) => process.stdout.write(formatMember(m)));
    process.stderr.write(`${result.members} path(s) in ${result.source} run ${result.run} on ${result.destination}; every check passed\n`);
    return ExitCode.ok;
  });
}

export type RestoreCommandOptions = GlobalOptions & Omit<RestoreOptions, 'identityPassphrase' | 'paths'> & { path?: string[] };

export function commandRestore(path: string, options: RestoreCommandOptions): Promise<number> {
  return withJob(path, options, async (job, logger) => {
    const result = await restore(job, { ...options, paths: options.path, identityPassphrase: process.env.BACKUP_IDENTITY_PASSPHRASE }, logger);
    if (options.to !== '-') {
      process.stderr.write(`restored ${options.source ?? onlySourceId(job)} run ${result.run} from ${result.destination}: ${result.files.join(', ')}\n`);
    }
    return ExitCode.ok;
  });
}

export type VerifyCommandOptions = GlobalOptions & { source?: string; destination?: string; run?: string; identity?: string; all?: boolean; spot?: string; spotTolerance?: string };

function spotLines(label: string, names: string[]): string {
  if (names.length === 0) return '';
  const shown = names.slice(0, 20).map((n) => `         ${n}\n`).join('');
  return `       ${label} (${names.length}):\n${shown}${names.length > 20 ? `         ... and ${names.length - 20} more\n` : ''}`;
}

function commandSpot(path: string, options: VerifyCommandOptions): Promise<number> {
  return withJob(path, options, async (job, logger) => {
    if (options.all) throw new UsageError('--spot checks the newest run (or --run): not with --all');
    const count = Number(options.spot);
    const tolerance = options.spotTolerance === undefined ? undefined : Number(options.spotTolerance.replace(/%$/, ''));
    const results = await spotCheck(job, { ...options, count, tolerance, identityPassphrase: process.env.BACKUP_IDENTITY_PASSPHRASE }, logger);
    for (const r of results) {
      const counts = r.run && (r.sampled > 0 || !r.error) ? `: ${r.sampled} of ${r.archived} file(s) compared, ${r.same.length} same, ${r.differ.length} differ, ${r.vanished.length} vanished, ${r.added.length} new since` : '';
      process.stdout.write(`${r.ok ? 'OK    ' : 'FAILED'} spot check ${r.source}${r.destination ? ` on ${r.destination}` : ''}${r.run ? ` run ${r.run}` : ''}${counts}\n`);
      if (r.error) process.stdout.write(`       ${r.error}\n`);
      process.stdout.write(spotLines('differ', r.differ) + spotLines('vanished', r.vanished) + spotLines('new since the run', r.added));
    }
    return results.length > 0 && results.every((r) => r.ok) ? ExitCode.ok : ExitCode.failed;
  });
}

export function commandVerify(path: string, options: VerifyCommandOptions): Promise<number> {
  if (options.spot !== undefined) return commandSpot(path, options);
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
