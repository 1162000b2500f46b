/**
 * `backup vzdump-hook JOB --check`: the admin's smoke test, which, unlike the phases vzdump
 * runs, fails when the hook would store nothing: the job file does not load (exit 2), has no
 * vzdump source (exit 2), the encryption keys cannot be read, a destination cannot be reached,
 * the state folder cannot be written or a program is missing (exit 1). Nothing is stored and
 * nobody is notified.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Job } from '../config/job.js';
import { ExitCode, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { notFoundMessage } from '../lib/process.js';
import { createDestinations, resolveEncryption } from '../pipeline/run.js';
import { noVzdumpSource, vzdumpSources } from './hook.js';

export async function checkVzdumpJob(job: Job, logger: Logger, out: (line: string) => void): Promise<number> {
  const problems: string[] = [];
  const sources = vzdumpSources(job);
  if (sources.length === 0) {
    logger.error(noVzdumpSource(job));
    return ExitCode.usage;
  }
  for (const s of sources) {
    try {
      const encryption = await resolveEncryption(s, logger);
      const guests = s.options.vmids ? `guests ${s.options.vmids.join(', ')}` : 'every guest of the vzdump job';
      out(`source ${s.options.id}: ${guests}, encrypted with ${encryption.kind === 'none' ? 'NOTHING (encryption "none")' : encryption.kind}`);
    } catch (error) {
      problems.push(`source ${s.options.id}: ${describeError(error)}`);
    }
  }
  const destinations = await createDestinations(job, { job: job.info, logger });
  for (const d of destinations) {
    const id = d.loaded.options.id;
    if (d.setupError || !d.destination) {
      problems.push(`destination ${id} cannot be used: ${d.setupError ?? 'not created'}`);
      continue;
    }
    try {
      await d.destination.check?.();
      out(`destination ${id} (${d.loaded.plugin.type}): reachable`);
    } catch (error) {
      problems.push(`destination ${id} is not reachable: ${describeError(error, { layer: 'destination', plugin: id })}`);
    } finally {
      await d.destination.close?.().catch(() => undefined);
    }
  }
  try {
    const dir = join(job.stateDir, 'vzdump');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const probe = join(dir, `.check-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
    out(`state folder ${dir}: writable`);
  } catch (error) {
    problems.push(`the state folder ${job.stateDir} cannot be written: ${describeError(error)}`);
  }
  // Logs and uncompressed archives go through zstd (or gzip).
  const compressor = spawnSync('zstd', ['--version'], { stdio: 'ignore' });
  if (compressor.error || compressor.status !== 0) problems.push(`logs cannot be compressed: ${notFoundMessage('zstd')}`);
  out(`notifications: ${job.notifications.length ? job.notifications.map((n) => (n.options as { id?: string }).id ?? n.plugin.type).join(', ') : 'none'} (not sent by --check)`);
  for (const p of problems) logger.error(p);
  if (problems.length) return ExitCode.failed;
  out(`OK: vzdump can call this job's hook (script: in /etc/vzdump.conf)`);
  return ExitCode.ok;
}
