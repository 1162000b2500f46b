/** `backup list`, `backup restore`, `backup verify`. */
import { ExitCode } from '../errors.js';
import { formatBytes } from '../notifications/message.js';
import { listRuns } from '../pipeline/retention.js';
import { onlySourceId, openDestinations, restore, type RestoreOptions } from '../pipeline/restore.js';
import { verify } from '../pipeline/verify.js';
import { withJob, type GlobalOptions } from './context.js';


export function commandList(path: string, options: GlobalOptions & { source?: string; destination?: string; json?: boolean }): Promise<number> {
  return withJob(path, options, async (job, logger) => {
    const rows: { destination: string; source: string; run: string; time: string; state: string; files: number; bytes: number }[] = [];
    for (const d of await openDestinations(job, logger, options.destination)) {
      for (const s of job.sources.filter((x) => !options.source || x.options.id === options.source)) {
        for (const run of await listRuns(d.destination, d.layout, s.options.id)) {
          const data = run.objects.filter((o) => o.key !== run.manifestKey);
          rows.push({
            destination: d.loaded.options.id,
            source: s.options.id,
            run: run.runKey,
            time: run.time.toISOString(),
            state: run.state,
            files: data.length,
            bytes: data.reduce((n, o) => n + o.size, 0),
          });
        }
      }
      await d.destination.close?.();
    }
    if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else if (rows.length === 0) process.stdout.write('no runs stored\n');
    else {
      for (const r of rows) {
        process.stdout.write(`${r.destination}\t${r.source}\t${r.run}\t${r.time}\t${r.state}\t${r.files} file(s)\t${formatBytes(r.bytes)}\n`);
      }
    }
    return ExitCode.ok;
  });
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

export function commandVerify(path: string, options: GlobalOptions & { source?: string; destination?: string; identity?: string }): Promise<number> {
  return withJob(path, options, async (job, logger) => {
    const results = await verify(job, { ...options, identityPassphrase: process.env.BACKUP_IDENTITY_PASSPHRASE }, logger);
    for (const r of results) {
      process.stdout.write(`${r.ok ? 'OK    ' : 'FAILED'} ${r.source} on ${r.destination}${r.run ? ` run ${r.run}` : ''}${r.error ? `: ${r.error}` : ''}\n`);
      for (const f of r.files) {
        process.stdout.write(`       ${f.ok ? 'ok' : 'BAD'} ${f.file} (${formatBytes(f.plainBytes)} plain)${f.error ? `: ${f.error}` : ''}\n`);
      }
    }
    return results.length > 0 && results.every((r) => r.ok) ? ExitCode.ok : ExitCode.failed;
  });
}
