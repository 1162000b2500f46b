/**
 * A whole run of a job: sources one after another, each artifact fanned out to every
 * destination, then per destination that stored the source's run: manifest, then retention
 * for that source only. Notifications along the way; the report at the end.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { makeRunTempDir } from '../lib/temp-dir.js';
import type { Job, LoadedDestination, LoadedSource } from '../config/job.js';
import type { Destination } from '../destinations/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CreateContext } from '../plugin.js';
import type { RunReport, SourceReport } from '../report.js';
import type { Source, SourceContext } from '../sources/types.js';
import { TOOL_VERSION } from '../version.js';
import { describeEncryption, loadRecipients, type Encryption } from './encrypt.js';
import { KeyLayout } from './keys.js';
import { formatTimestamp } from '../lib/timestamp.js';
import { NotificationDispatcher } from './notify.js';
import { runAfterHooks, runBeforeHooks, runOutcome, type HookScope } from './hooks.js';
import { MAX_LOG_TAIL_LINES, totalStoredBytes } from '../report.js';
import type { ArtifactProgress } from './store-artifact.js';
import { dryRunSource, storeSource } from './store-source.js';

export interface RunOptions {
  logger: Logger;
  /** Aborted on SIGINT/SIGTERM: in-flight uploads abort, temporary files go, failure is reported. */
  signal: AbortSignal;
  /** Source ids to run (`--only`); all when empty. */
  only?: readonly string[];
  dryRun?: boolean;
  /** The run's start; tests back-date runs with it. */
  now?: Date;
  /** Receives the last log lines for failure notifications. */
  logTail?: () => string[];
  /** Live progress of each artifact (the terminal's progress line). */
  onProgress?: (progress: ArtifactProgress) => void;
}

export interface ReadyDestination {
  loaded: LoadedDestination;
  destination?: Destination;
  setupError?: string;
  layout: KeyLayout;
}

/** A report for a run of the job just starting (also one that could not start: no Job was loaded then). */
export function newRunReport(job: Pick<Job, 'info'>, started: Date, dryRun: boolean): RunReport {
  return {
    runId: randomUUID(),
    jobName: job.info.name,
    jobPath: job.info.path,
    hostname: job.info.hostname,
    toolVersion: TOOL_VERSION,
    status: 'running',
    startedAt: started.toISOString(),
    dryRun,
    sources: [],
    logTail: [],
  };
}

export function finishReport(report: RunReport, logTail: () => string[] = () => []): RunReport {
  const finished = new Date();
  report.finishedAt = finished.toISOString();
  report.durationSeconds = (finished.getTime() - Date.parse(report.startedAt)) / 1000;
  const failed = report.error !== undefined || report.sources.some((s) => s.status === 'failure');
  const warned = report.sources.some((s) => s.status === 'warning');
  report.status = failed ? 'failure' : warned ? 'warning' : 'success';
  report.logTail = logTail().slice(-MAX_LOG_TAIL_LINES);
  return report;
}

export function selectSources(job: Job, only: readonly string[] | undefined): LoadedSource[] {
  if (!only || only.length === 0) return job.sources;
  return job.sources.filter((s) => only.includes(s.options.id));
}

export async function resolveEncryption(source: LoadedSource, logger: Logger): Promise<Encryption> {
  const o = source.options;
  if (o.encryption === 'none') return { kind: 'none' };
  if (o.recipients) return loadRecipients(o.recipients, source.path, (m) => logger.warn({ source: o.id }, m));
  return { kind: 'passphrase', passphrase: o.passphrase! };
}

export async function createDestinations(job: Job, ctx: CreateContext): Promise<ReadyDestination[]> {
  const ready: ReadyDestination[] = [];
  for (const loaded of job.destinations) {
    const layout = new KeyLayout(loaded.options.key_template, job.info.hostname);
    try {
      ready.push({ loaded, layout, destination: await loaded.create(ctx) });
    } catch (error) {
      ready.push({ loaded, layout, setupError: describeError(error, { layer: 'destination', plugin: loaded.options.id }) });
    }
  }
  return ready;
}

export async function runJob(job: Job, options: RunOptions): Promise<RunReport> {
  const { logger, signal } = options;
  const started = options.now ?? new Date();
  const report = newRunReport(job, started, options.dryRun ?? false);
  const ctx: CreateContext = { job: job.info, logger };
  const notifier = await NotificationDispatcher.create(job.notifications, ctx);
  const destinations = await createDestinations(job, ctx);
  for (const d of destinations) {
    if (d.setupError) logger.error({ destination: d.loaded.options.id }, `destination ${d.loaded.options.id} cannot be used: ${d.setupError}`);
  }

  // Job-level command hooks: a failing `before` fails the run before any source starts.
  const jobHooks: HookScope = { job: job.info, runId: report.runId, logger, signal };
  if (!report.dryRun) await runBeforeHooks(job.root, jobHooks).catch((error: unknown) => (report.error = describeError(error)));

  for (const source of selectSources(job, options.only)) {
    if (signal.aborted || report.error) break;
    if (source.plugin.storedByHook) {
      logger.info(`source ${source.options.id} (${source.plugin.type}) is ${source.plugin.storedByHook}; skipped`);
      continue;
    }
    const sourceReport = await runSource(job, source, destinations, { ...options, report, notifier, started });
    report.sources.push(sourceReport);
  }
  if (signal.aborted && !report.error) report.error = `interrupted (${describeError(signal.reason)})`;

  for (const d of destinations) await d.destination?.close?.().catch(() => undefined);
  finishReport(report, options.logTail);
  if (!report.dryRun) await runAfterHooks(job.root, jobHooks, runOutcome(report));
  if (!report.dryRun) await notifier.emit({ kind: 'run', run: report });
  return report;
}

export interface SourceRunContext extends RunOptions {
  report: RunReport;
  notifier: NotificationDispatcher;
  started: Date;
}

export async function runSource(job: Job, loaded: LoadedSource, destinations: ReadyDestination[], run: SourceRunContext): Promise<SourceReport> {
  const { logger, signal } = run;
  const o = loaded.options;
  const log = logger.child({ source: o.id });
  const startedAt = new Date();
  const report: SourceReport = {
    id: o.id,
    name: o.name ?? o.id,
    type: loaded.plugin.type,
    status: 'running',
    runKey: formatTimestamp(run.started),
    startedAt: startedAt.toISOString(),
    warnings: [],
    artifacts: [],
    destinations: destinations.map((d) => ({
      id: d.loaded.options.id,
      type: d.loaded.plugin.type,
      status: d.setupError ? 'failure' : 'success',
      error: d.setupError,
      keys: [],
      storedBytes: 0,
      uploadSeconds: 0,
    })),
    compression: o.compression ?? 'zstd',
    encryption: o.encryption ?? 'openpgp',
  };
  const destReport = (id: string) => report.destinations.find((r) => r.id === id)!;
  const failDestination = (id: string, error: unknown) => {
    const r = destReport(id);
    if (r.status === 'failure') return;
    r.status = 'failure';
    r.error = describeError(error, { layer: 'destination', plugin: id });
    log.error({ destination: id }, `destination ${id} failed for source ${o.id}: ${r.error}`);
  };
  if (!run.dryRun) await run.notifier.emit({ kind: 'start', source: report, run: run.report });
  log.info(`source ${o.id} (${loaded.plugin.type}) started`);
  const hooks: HookScope = { job: job.info, source: { id: o.id, type: loaded.plugin.type }, runId: run.report.runId, runKey: report.runKey, logger: log, signal };

  const tmpBase = o.tmpdir ?? job.tmpdir;
  let tmpdir: string | undefined;
  let source: Source | undefined;
  const sourceCtx = (dir: string): SourceContext => ({ job: job.info, tmpdir: dir, logger: log, signal });
  try {
    if (!run.dryRun) await runBeforeHooks(o, hooks);
    const encryption = await resolveEncryption(loaded, log);
    report.encryption = describeEncryption(encryption);
    if (encryption.kind === 'none') log.warn(`source ${o.id} is stored UNENCRYPTED ("encryption": "none" or compress_only)`);
    await mkdir(tmpBase, { recursive: true, mode: 0o700 });
    tmpdir = await makeRunTempDir(tmpBase, 'backup-runner-');
    source = await loaded.create({ job: job.info, logger: log });

    if (run.dryRun) {
      await dryRunSource(source, sourceCtx(tmpdir), destinations, { o, report, log, run });
    } else {
      await storeSource(source, sourceCtx(tmpdir), destinations, { o, sourceType: loaded.plugin.type, encryption, run, report, log, failDestination });
    }
  } catch (error) {
    report.error = describeError(error, { layer: 'source', plugin: o.id });
    log.error(`source ${o.id} failed: ${report.error}`);
    // Destinations that received nothing did not succeed: they were never reached.
    for (const r of report.destinations) if (r.status === 'success' && r.keys.length === 0) r.status = 'skipped';
  } finally {
    if (source?.cleanup && tmpdir) {
      await source.cleanup(sourceCtx(tmpdir)).catch((error: unknown) => {
        const message = `cleanup of source ${o.id} failed: ${describeError(error, { layer: 'source', plugin: o.id })}`;
        report.warnings.push(message);
        log.warn(message);
      });
    }
    if (tmpdir) await rm(tmpdir, { recursive: true, force: true });
  }

  const finished = new Date();
  report.finishedAt = finished.toISOString();
  report.durationSeconds = (finished.getTime() - startedAt.getTime()) / 1000;
  const anyDestinationFailed = report.destinations.some((d) => d.status === 'failure');
  report.status = report.error || anyDestinationFailed ? 'failure' : report.warnings.length ? 'warning' : 'success';
  if (!report.error && anyDestinationFailed) {
    report.error = report.destinations
      .filter((d) => d.status === 'failure')
      .map((d) => `destination ${d.id}: ${d.error}`)
      .join('; ');
  }
  if (!run.dryRun) {
    const outcome = { status: report.status, error: report.error, storedBytes: totalStoredBytes(report), durationSeconds: report.durationSeconds };
    const hookWarnings = await runAfterHooks(o, hooks, outcome);
    report.warnings.push(...hookWarnings);
    if (hookWarnings.length && report.status === 'success') report.status = 'warning';
  }
  log.info(`source ${o.id} finished: ${report.status}`);
  if (!run.dryRun) {
    // A failure message carries the log lines that led to it: the run's tail is final only at its end.
    run.report.logTail = (run.logTail?.() ?? []).slice(-MAX_LOG_TAIL_LINES);
    await run.notifier.emit(report.status === 'failure' ? { kind: 'failure', source: report, run: run.report } : { kind: 'success', source: report, run: run.report });
  }
  return report;
}
