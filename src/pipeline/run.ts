/**
 * A whole run of a job: sources one after another, each artifact fanned out to every
 * destination, then per destination that stored the source's run: manifest, then retention
 * for that source only. Notifications along the way; the report at the end.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { makeRunTempDir } from './sweep.js';
import type { Job, LoadedDestination, LoadedSource } from '../config/job.js';
import type { Destination } from '../destinations/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CreateContext } from '../plugin.js';
import type { DestinationReport, RunReport, SourceReport } from '../report.js';
import type { Source, SourceContext } from '../sources/types.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { describeEncryption, loadRecipients, type Encryption } from './encrypt.js';
import { KeyLayout, formatTimestamp } from './keys.js';
import { MANIFEST_FORMAT, storeManifest, type ManifestFile } from './manifest.js';
import { NotificationDispatcher } from './notify.js';
import { applyRetention, type RetentionPolicy } from './retention.js';
import { runAfterHooks, runBeforeHooks, runOutcome, type HookScope } from './hooks.js';
import { VZDUMP_SOURCE_TYPE } from '../sources/vzdump/schema.js';
import { MAX_LOG_TAIL_LINES, totalStoredBytes } from '../report.js';
import { storeArtifact, type ArtifactProgress } from './store-artifact.js';

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

export function newRunReport(job: Job, started: Date, dryRun: boolean): RunReport {
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
      ready.push({ loaded, layout, destination: await loaded.plugin.create(loaded.options as never, ctx) });
    } catch (error) {
      ready.push({ loaded, layout, setupError: describeError(error, { layer: 'destination', plugin: loaded.options.id }) });
    }
  }
  return ready;
}

function retentionPolicy(d: LoadedDestination): RetentionPolicy {
  return { copies: d.options.retention_copies, days: d.options.retention_days };
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
    if (source.plugin.type === VZDUMP_SOURCE_TYPE) {
      logger.info(`source ${source.options.id} (vzdump) is stored by "backup vzdump-hook" when vzdump runs; skipped`);
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
    source = await loaded.plugin.create(o as never, { job: job.info, logger: log });

    if (run.dryRun) {
      await dryRunSource(source, sourceCtx(tmpdir), destinations, o.id, report, log);
    } else {
      await storeSource(source, sourceCtx(tmpdir), destinations, { o, encryption, run, report, log, failDestination });
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

interface StoreContext {
  o: LoadedSource['options'];
  encryption: Encryption;
  run: SourceRunContext;
  report: SourceReport;
  log: Logger;
  failDestination: (id: string, error: unknown) => void;
}

async function storeSource(source: Source, ctx: SourceContext, destinations: ReadyDestination[], s: StoreContext): Promise<void> {
  const { o, report, log, run } = s;
  const files: ManifestFile[] = [];
  const usable = () => destinations.filter((d) => d.destination && report.destinations.find((r) => r.id === d.loaded.options.id)!.status !== 'failure');
  if (usable().length === 0) throw new Error('no destination is usable');

  let artifactFailure: unknown;
  for await (const artifact of source.open(ctx)) {
    const targets = usable();
    if (targets.length === 0) {
      artifact.stream.destroy();
      await artifact.done.catch(() => undefined);
      break;
    }
    log.info({ artifact: artifact.name }, `dumping ${artifact.name}`);
    const stored = await storeArtifact(
      artifact,
      {
        sourceId: o.id,
        compression: o.compression ?? 'zstd',
        compressionLevel: o.compression_level,
        encryption: s.encryption,
        signal: ctx.signal,
        onProgress: run.onProgress,
      },
      (file) =>
        targets.map((d) => ({
          id: d.loaded.options.id,
          destination: d.destination!,
          key: d.layout.objectKey(o.id, run.started, file),
          rateLimit: d.loaded.options.upload_rate_limit,
        })),
    );
    report.warnings.push(...stored.warnings);
    for (const w of stored.warnings) log.warn(w);
    if (stored.error !== undefined) {
      artifactFailure = stored.error;
      break;
    }
    report.artifacts.push({ name: stored.name, file: stored.file, rawBytes: stored.rawBytes, storedBytes: stored.bytes, sha256: stored.sha256, seconds: stored.dumpSeconds });
    files.push({ file: stored.file, name: stored.name, size: stored.bytes, sha256: stored.sha256, raw_size: stored.rawBytes });
    for (const branch of stored.branches) {
      const r = report.destinations.find((x) => x.id === branch.id)!;
      if (branch.ok) {
        const target = targets.find((t) => t.loaded.options.id === branch.id)!;
        r.keys.push(target.layout.objectKey(o.id, run.started, stored.file));
        r.storedBytes += branch.size;
        r.uploadSeconds += branch.seconds;
        if (branch.size !== stored.bytes) s.failDestination(branch.id, new Error(`stored ${branch.size} bytes of ${stored.bytes}`));
      } else s.failDestination(branch.id, branch.error);
    }
    const mb = stored.bytes / 1048576;
    log.info({ artifact: stored.file, bytes: stored.bytes, seconds: Number(stored.dumpSeconds.toFixed(2)) }, `stored ${stored.file} (${mb.toFixed(1)} MiB, ${(mb / Math.max(stored.dumpSeconds, 0.001)).toFixed(1)} MiB/s)`);
  }

  const complete = artifactFailure === undefined;
  if (!complete) {
    report.error = describeError(artifactFailure, { layer: 'source', plugin: o.id });
    log.error(`source ${o.id} failed, nothing of this artifact was stored: ${report.error}`);
    for (const r of report.destinations) if (r.status === 'success' && r.keys.length === 0) r.status = 'skipped';
  }
  if (complete && files.length === 0) throw new Error('the source produced no artifact');

  // Manifest last, then retention, on every destination that stored the whole run.
  for (const d of destinations) {
    const r = report.destinations.find((x) => x.id === d.loaded.options.id)!;
    if (!d.destination || r.status === 'failure' || r.keys.length === 0) continue;
    try {
      const manifestKey = d.layout.manifestKey(o.id, run.started);
      await storeManifest(
        d.destination,
        manifestKey,
        {
          format: MANIFEST_FORMAT,
          tool: TOOL_NAME,
          tool_version: TOOL_VERSION,
          source: { id: o.id, type: report.type, name: o.name },
          hostname: run.report.hostname,
          run_id: run.report.runId,
          run_key: report.runKey,
          started_at: report.startedAt,
          finished_at: new Date().toISOString(),
          complete,
          compression: o.compression ?? 'zstd',
          encryption: report.encryption,
          files,
          warnings: report.warnings,
        },
        ctx.signal,
      );
      r.keys.push(manifestKey);
    } catch (error) {
      s.failDestination(r.id, error);
      continue;
    }
    if (complete) r.retention = await prune(d, o.id, report.runKey, false, log);
  }
}

async function prune(d: ReadyDestination, sourceId: string, protectRunKey: string | undefined, dryRun: boolean, log: Logger) {
  const policy = retentionPolicy(d.loaded);
  if (policy.copies === undefined && policy.days === undefined) return undefined;
  const retention = await applyRetention(d.destination!, d.layout, sourceId, policy, {
    protectRunKeys: protectRunKey ? [protectRunKey] : [],
    dryRun,
    onRemove: (stored, reason) =>
      log.info({ destination: d.loaded.options.id }, `${dryRun ? 'would remove' : 'removing'} run ${stored.runKey} of ${sourceId} on ${d.loaded.options.id}: ${reason}`),
  });
  if (retention.error) log.warn({ destination: d.loaded.options.id }, `retention on ${d.loaded.options.id} failed: ${retention.error}`);
  return retention;
}

async function dryRunSource(source: Source, ctx: SourceContext, destinations: ReadyDestination[], sourceId: string, report: SourceReport, log: Logger): Promise<void> {
  if (source.check) {
    await source.check(ctx);
    log.info(`source ${sourceId}: reachable`);
  }
  for (const d of destinations) {
    const r: DestinationReport = report.destinations.find((x) => x.id === d.loaded.options.id)!;
    if (!d.destination) continue;
    try {
      await d.destination.check?.();
      r.retention = await prune(d, sourceId, undefined, true, log);
      r.status = 'skipped';
    } catch (error) {
      r.status = 'failure';
      r.error = describeError(error, { layer: 'destination', plugin: d.loaded.options.id });
    }
  }
}
