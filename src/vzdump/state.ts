/**
 * What one vzdump job has done so far, between the hook's invocations: vzdump starts the hook
 * once per phase, so the per-guest results live in a small JSON file in the state directory
 * until `job-end` reports them all. vzdump runs one job at a time per node (its global lock)
 * and calls the hook synchronously, so the file has one writer at a time; it is replaced
 * atomically (temp file + rename) so a crash never leaves half a file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { JobInfo } from '../plugin.js';
import type { SourceReport } from '../report.js';
import { writeFileAtomically } from '../lib/atomic-file.js';

export const STATE_FORMAT = 1;
/** Log lines kept for the failure notifications. */
const LOG_LINES = 40;

export interface GuestState {
  vmid: number;
  vmtype?: string;
  /** The guest's name (vzdump's HOSTNAME). */
  hostname?: string;
  mode?: string;
  /** backup-start: the guest's run time, its folder on the destinations. */
  started_at: string;
  /** backup-end: the archive, stored at log-end with the log (the log is complete then, and a stopped guest runs again). */
  deferred_target?: string;
  /** The stored guest, once backup-end (or log-end) stored it or failed. */
  report?: SourceReport;
  log_stored?: boolean;
}

export interface VzdumpRunState {
  format: typeof STATE_FORMAT;
  run_id: string;
  /** job-init / job-start time. */
  started_at: string;
  storeid?: string;
  dumpdir?: string;
  /** Set once job-end or job-abort reported the run: a job-abort after a failed job-end stays quiet. */
  reported?: 'job-end' | 'job-abort';
  guests: Record<string, GuestState>;
  /** Last log lines of the hook's own invocations, for failure notifications. */
  log: string[];
}

/** `{state_dir}/vzdump/{job}-{hash}-{storage}.json`: one per job file and vzdump storage. */
export function statePath(stateDir: string, job: JobInfo, env: { STOREID?: string; DUMPDIR?: string }): string {
  const digest = createHash('sha256').update(job.path).digest('hex').slice(0, 12);
  const where = env.STOREID
    ? env.STOREID.replace(/[^A-Za-z0-9._-]/g, '_')
    : env.DUMPDIR
      ? `dir-${createHash('sha256').update(env.DUMPDIR).digest('hex').slice(0, 8)}`
      : 'default';
  return join(stateDir, 'vzdump', `${job.name}-${digest}-${where}.json`);
}

export function freshState(env: { STOREID?: string; DUMPDIR?: string }, now = new Date()): VzdumpRunState {
  return { format: STATE_FORMAT, run_id: randomUUID(), started_at: now.toISOString(), storeid: env.STOREID, dumpdir: env.DUMPDIR, guests: {}, log: [] };
}

export async function readState(file: string): Promise<VzdumpRunState | undefined> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as VzdumpRunState;
    return state.format === STATE_FORMAT && state.guests ? state : undefined;
  } catch {
    return undefined;
  }
}

export async function writeState(file: string, state: VzdumpRunState): Promise<void> {
  state.log = state.log.slice(-LOG_LINES);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomically(file, JSON.stringify(state, null, 2), { mode: 0o600 });
}
