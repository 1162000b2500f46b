/**
 * `backup vzdump-hook JOB PHASE [MODE VMID]`: the runner as a vzdump hook script.
 *
 * vzdump runs the hook once per phase with an empty environment apart from its own variables
 * (STOREID, DUMPDIR, VMTYPE, HOSTNAME, TARGET, LOGFILE). What each phase does, and the exit
 * status it returns (vzdump reads it):
 *
 * | phase                         | does                                              | exit        |
 * |-------------------------------|---------------------------------------------------|-------------|
 * | job-init, job-start           | starts a fresh run record                         | always 0 (non-zero would abort the whole vzdump job) |
 * | backup-start                  | notes the guest's start (its run time)            | always 0    |
 * | pre-stop, pre-restart, post-restart | nothing                                     | always 0 (a failure could leave the guest stopped) |
 * | backup-end                    | checks $TARGET is a readable file and notes it    | 1 when there is no archive to store (vzdump marks the guest failed) |
 * | backup-abort                  | records the guest as failed                       | always 0    |
 * | log-end                       | stores the archive, $LOGFILE and the notes as one run of `vzdump-{VMID}` (claim, files, manifest, retention: the pipeline's own step) | always 0 (vzdump ignores it) |
 * | job-end                       | notifications for every guest, run history        | 1 when a guest failed |
 * | job-abort                     | failure notifications (unless job-end already reported) | always 0 |
 *
 * Storing waits for log-end: the log is complete only then, and by then vzdump has restarted
 * a guest it stopped (stop mode restarts after backup-end), so the hook never prolongs a
 * guest's downtime. A failed upload is therefore reported at job-end (exit 1, the job is
 * marked failed, and to the notifications), not in vzdump's per-guest status.
 *
 * Every problem is logged on stderr, which vzdump copies into the task log.
 */
import type { Job, LoadedSource } from '../config/job.js';
import { bind } from '../plugin.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { stat } from 'node:fs/promises';
import { NotificationDispatcher } from '../pipeline/notify.js';
import { createDestinations, finishReport, newRunReport, runSource, type ReadyDestination } from '../pipeline/run.js';
import type { RunReport, SourceReport } from '../report.js';
import { VZDUMP_SOURCE_TYPE, guestSourceId, takesGuest, type VzdumpOptions } from '../sources/vzdump/schema.js';
import { appendHistory } from '../state/history.js';
import { guestSource as guestFilesSource, type GuestFiles } from './archive.js';
import { freshState, readState, statePath, writeState, type GuestState, type VzdumpRunState } from './state.js';

export const JOB_PHASES = ['job-init', 'job-start', 'job-end', 'job-abort'] as const;
export const GUEST_PHASES = ['backup-start', 'pre-stop', 'pre-restart', 'post-restart', 'backup-end', 'backup-abort', 'log-end'] as const;

/** vzdump's variables (TARFILE is what PVE before 7 called TARGET). */
export interface VzdumpEnv {
  STOREID?: string;
  DUMPDIR?: string;
  VMTYPE?: string;
  HOSTNAME?: string;
  TARGET?: string;
  TARFILE?: string;
  LOGFILE?: string;
}

export interface HookCall {
  phase: string;
  mode?: string;
  vmid?: string;
  env: VzdumpEnv;
}

export interface HookContext {
  /** Loads the job file (done lazily: most phases do not need it). */
  loadJob: () => Job;
  logger: Logger;
  signal: AbortSignal;
  /** Lines logged so far, for the run's log tail. */
  logTail: () => string[];
}

export function vzdumpEnv(env: NodeJS.ProcessEnv): VzdumpEnv {
  const pick = (name: keyof VzdumpEnv) => (env[name] ? env[name] : undefined);
  return {
    STOREID: pick('STOREID'),
    DUMPDIR: pick('DUMPDIR'),
    VMTYPE: pick('VMTYPE'),
    HOSTNAME: pick('HOSTNAME'),
    TARGET: pick('TARGET') ?? pick('TARFILE'),
    LOGFILE: pick('LOGFILE'),
  };
}

type LoadedVzdump = LoadedSource & { options: LoadedSource['options'] & VzdumpOptions };

export function vzdumpSources(job: Job): LoadedVzdump[] {
  return job.sources.filter((s) => s.plugin.type === VZDUMP_SOURCE_TYPE) as LoadedVzdump[];
}

export function noVzdumpSource(job: Job): string {
  return `the job ${job.info.path} has no source of type "vzdump": add one with its passphrase or recipients (see examples/proxmox-vzdump.json)`;
}

/** The vzdump source that stores this guest, or undefined when its vmids filter leaves it out. */
function sourceFor(job: Job, vmid: number): LoadedVzdump | undefined {
  const all = vzdumpSources(job);
  if (all.length === 0) throw new Error(noVzdumpSource(job));
  return all.find((s) => takesGuest(s.options, vmid));
}

/** The vzdump source as the source of one guest: same keys, id `vzdump-{VMID}`, the guest's files as its artifacts. */
function guestSource(vz: LoadedVzdump, guest: GuestState, files: GuestFiles): LoadedSource {
  const id = guestSourceId(guest.vmid);
  const name = `${guest.hostname ?? 'guest'} (${guest.vmtype ?? 'guest'} ${guest.vmid})`;
  const plugin = { ...vz.plugin, create: () => guestFilesSource(id, files) };
  return { path: vz.path, plugin, ...bind(plugin, { ...vz.options, id, name }) };
}

/** `{archive}.notes`, which vzdump writes beside the archive when the job has a notes template. */
async function notesOf(target: string): Promise<string | undefined> {
  const notes = `${target}.notes`;
  const info = await stat(notes).catch(() => undefined);
  return info?.isFile() ? notes : undefined;
}

export class VzdumpHook {
  private job?: Job;
  private statePathCache?: string;
  /** Log lines of this invocation already copied into the state file. */
  private logged = 0;

  constructor(
    private readonly call: HookCall,
    private readonly ctx: HookContext,
  ) {}

  private loadJob(): Job {
    this.job ??= this.ctx.loadJob();
    return this.job;
  }

  private get stateFile(): string {
    const job = this.loadJob();
    this.statePathCache ??= statePath(job.stateDir, job.info, this.call.env);
    return this.statePathCache;
  }

  private async state(): Promise<VzdumpRunState> {
    return (await readState(this.stateFile)) ?? freshState(this.call.env);
  }

  private async save(state: VzdumpRunState): Promise<void> {
    const lines = this.ctx.logTail();
    state.log.push(...lines.slice(this.logged));
    this.logged = lines.length;
    await writeState(this.stateFile, state);
  }

  private get vmid(): number | undefined {
    const n = Number(this.call.vmid);
    return this.call.vmid && Number.isInteger(n) && n > 0 ? n : undefined;
  }

  /** Runs the phase and returns the exit status vzdump should see. */
  async run(): Promise<number> {
    const { phase } = this.call;
    const log = this.ctx.logger;
    try {
      switch (phase) {
        case 'job-init':
        case 'job-start':
          await this.startJob();
          return 0;
        case 'backup-start':
          await this.startGuest();
          return 0;
        case 'backup-end':
          return await this.backupEnd();
        case 'backup-abort':
          await this.backupAbort();
          return 0;
        case 'log-end':
          await this.logEnd();
          return 0;
        case 'job-end':
          return await this.finishJob('job-end');
        case 'job-abort':
          await this.finishJob('job-abort');
          return 0;
        case 'pre-stop':
        case 'pre-restart':
        case 'post-restart':
          return 0;
        default:
          log.warn(`vzdump-hook: unknown phase "${phase}" ignored`);
          return 0;
      }
    } catch (error) {
      log.error(`vzdump-hook ${phase}${this.call.vmid ? ` ${this.call.vmid}` : ''} failed: ${describeError(error)}`);
      // Only backup-end and job-end report a failure to vzdump; in every other phase a
      // non-zero status would abort the job or could leave a guest stopped.
      return phase === 'backup-end' || phase === 'job-end' ? 1 : 0;
    }
  }

  private async startJob(): Promise<void> {
    const job = this.loadJob();
    // A job without a vzdump source stores nothing: say so in the task log from the start.
    if (vzdumpSources(job).length === 0) throw new Error(noVzdumpSource(job));
    const existing = await readState(this.stateFile);
    // job-init and job-start both come before any guest: job-start keeps job-init's record.
    if (this.call.phase === 'job-start' && existing && !existing.reported && Object.keys(existing.guests).length === 0) return;
    const state = freshState(this.call.env);
    this.ctx.logger.info(`vzdump job started (run ${state.run_id}); storing guests of ${job.info.path}`);
    await this.save(state);
  }

  private guestOf(state: VzdumpRunState): GuestState {
    const vmid = this.vmid;
    if (vmid === undefined) throw new Error(`phase ${this.call.phase} needs MODE and VMID arguments (got "${this.call.vmid ?? ''}")`);
    const key = String(vmid);
    const guest = (state.guests[key] ??= { vmid, started_at: new Date().toISOString() });
    guest.vmtype = this.call.env.VMTYPE ?? guest.vmtype;
    guest.hostname = this.call.env.HOSTNAME ?? guest.hostname;
    guest.mode = this.call.mode ?? guest.mode;
    return guest;
  }

  private async startGuest(): Promise<void> {
    const state = await this.state();
    if (state.reported) Object.assign(state, freshState(this.call.env));
    const guest = this.guestOf(state);
    // A retried guest starts over.
    state.guests[String(guest.vmid)] = { vmid: guest.vmid, vmtype: guest.vmtype, hostname: guest.hostname, mode: guest.mode, started_at: new Date().toISOString() };
    if (!sourceFor(this.loadJob(), guest.vmid)) this.ctx.logger.info(`guest ${guest.vmid} is not in the vmids of any vzdump source: it will not be stored`);
    await this.save(state);
  }

  /** The archive is complete: check it is there; it is stored at log-end, with the log and the notes. */
  private async backupEnd(): Promise<number> {
    const state = await this.state();
    const guest = this.guestOf(state);
    const vz = sourceFor(this.loadJob(), guest.vmid);
    if (!vz) {
      this.ctx.logger.info(`guest ${guest.vmid} is not in the vmids of any vzdump source: not stored`);
      return 0;
    }
    const target = this.call.env.TARGET;
    if (!target || target === '-') {
      guest.report = this.failedGuest(guest, vz, 'vzdump gave no archive file (TARGET): the hook stores file archives, not Proxmox Backup Server snapshots or --stdout');
      await this.save(state);
      return 1;
    }
    const info = await stat(target).catch((error: NodeJS.ErrnoException) => error);
    if (info instanceof Error || !info.isFile()) {
      const why = info instanceof Error ? (info.code ?? info.message) : 'not a file';
      guest.report = this.failedGuest(guest, vz, `cannot read the archive ${target} (${why})`);
      await this.save(state);
      return 1;
    }
    guest.deferred_target = target;
    this.ctx.logger.info(`guest ${guest.vmid}: archive ${target} (${info.size} bytes) is stored at log-end, with its log`);
    await this.save(state);
    return 0;
  }

  private async backupAbort(): Promise<void> {
    const state = await this.state();
    const guest = this.guestOf(state);
    const vz = sourceFor(this.loadJob(), guest.vmid);
    if (!vz) return;
    guest.deferred_target = undefined;
    guest.report = this.failedGuest(guest, vz, `vzdump reported the backup of guest ${guest.vmid} failed (backup-abort)`);
    await this.save(state);
  }

  /** Stores the guest's archive, log and notes as one run (the pipeline's claim, store, manifest, retention). */
  private async logEnd(): Promise<void> {
    const state = await this.state();
    const guest = this.guestOf(state);
    const vz = sourceFor(this.loadJob(), guest.vmid);
    if (!vz || !guest.deferred_target || guest.report) return;
    const target = guest.deferred_target;
    const logfile = this.call.env.LOGFILE;
    const warnings: string[] = [];
    let log: string | undefined;
    if (!logfile) warnings.push('vzdump gave no log file (LOGFILE): the archive is stored without its log');
    else if (!(await stat(logfile).then((i) => i.isFile()).catch(() => false))) warnings.push(`cannot read the log ${logfile}: the archive is stored without it`);
    else log = logfile;
    for (const w of warnings) this.ctx.logger.warn(`guest ${guest.vmid}: ${w}`);
    const report = await this.storeGuest(vz, guest, { target, logfile: log, notes: await notesOf(target) });
    if (warnings.length && report.status !== 'failure') {
      report.warnings.push(...warnings);
      if (report.status === 'success') report.status = 'warning';
    }
    guest.report = report;
    guest.deferred_target = undefined;
    guest.log_stored = log !== undefined && report.status !== 'failure';
    await this.save(state);
  }

  private async storeGuest(vz: LoadedVzdump, guest: GuestState, files: GuestFiles): Promise<SourceReport> {
    const job = this.loadJob();
    const { logger, signal } = this.ctx;
    const createCtx = { job: job.info, logger };
    const destinations = await createDestinations(job, createCtx);
    try {
      for (const d of destinations) if (d.setupError) logger.error(`destination ${d.loaded.options.id} cannot be used: ${d.setupError}`);
      const run = newRunReport(job, new Date(guest.started_at), false);
      // Per-guest events go out together at job-end; nobody is told from here.
      const quiet = await NotificationDispatcher.create([], createCtx);
      const report = await runSource(job, guestSource(vz, guest, files), destinations, {
        logger,
        signal,
        report: run,
        notifier: quiet,
        started: new Date(guest.started_at),
      });
      logger.info(`guest ${guest.vmid}: ${report.status}${report.error ? ` (${report.error})` : ''}`);
      return report;
    } finally {
      await closeAll(destinations);
    }
  }

  private failedGuest(guest: GuestState, vz: LoadedVzdump, error: string): SourceReport {
    this.ctx.logger.error(`guest ${guest.vmid}: ${error}`);
    const now = new Date().toISOString();
    return {
      id: guestSourceId(guest.vmid),
      name: `${guest.hostname ?? 'guest'} (${guest.vmtype ?? 'guest'} ${guest.vmid})`,
      type: VZDUMP_SOURCE_TYPE,
      status: 'failure',
      runKey: '',
      startedAt: guest.started_at,
      finishedAt: now,
      durationSeconds: (Date.parse(now) - Date.parse(guest.started_at)) / 1000,
      error,
      warnings: [],
      artifacts: [],
      destinations: [],
      compression: vz.options.compression ?? 'zstd',
      encryption: vz.options.encryption ?? 'openpgp',
    };
  }

  /** job-end / job-abort: one report for every guest, to the notifiers and the history. */
  private async finishJob(phase: 'job-end' | 'job-abort'): Promise<number> {
    const job = this.loadJob();
    const state = await this.state();
    if (state.reported) {
      // vzdump calls job-abort after a job-end that exited non-zero: already reported.
      this.ctx.logger.info(`vzdump run ${state.run_id} was already reported at ${state.reported}`);
      return 0;
    }
    const report: RunReport = newRunReport(job, new Date(state.started_at), false);
    report.runId = state.run_id;
    for (const guest of Object.values(state.guests).sort((a, b) => a.vmid - b.vmid)) {
      const vz = sourceFor(job, guest.vmid);
      if (!vz) continue;
      report.sources.push(
        guest.report ?? this.failedGuest(guest, vz, guest.deferred_target ? 'the archive was waiting for log-end, which never came' : 'vzdump sent no backup-end for this guest'),
      );
    }
    if (phase === 'job-abort') report.error = 'the vzdump job was aborted';
    const tail = [...state.log, ...this.ctx.logTail().slice(this.logged)];
    finishReport(report, () => tail);

    const dispatcher = await NotificationDispatcher.create(job.notifications, { job: job.info, logger: this.ctx.logger });
    for (const source of report.sources) {
      await dispatcher.emit(source.status === 'failure' ? { kind: 'failure', source, run: report } : { kind: 'success', source, run: report });
    }
    if (phase === 'job-abort' && report.sources.length === 0) await dispatcher.emit({ kind: 'failure', source: undefined, run: report });
    await dispatcher.emit({ kind: 'run', run: report });
    await appendHistory(job, report).catch((error: unknown) => this.ctx.logger.warn(`run history not recorded: ${describeError(error)}`));

    state.reported = phase;
    await this.save(state);
    const failed = report.sources.filter((s) => s.status === 'failure').map((s) => s.id);
    this.ctx.logger.info(`vzdump run ${state.run_id}: ${report.status}${failed.length ? ` (failed: ${failed.join(', ')})` : ''}`);
    return report.status === 'failure' && phase === 'job-end' ? 1 : 0;
  }
}

async function closeAll(destinations: readonly ReadyDestination[]): Promise<void> {
  for (const d of destinations) await d.destination?.close?.().catch(() => undefined);
}
