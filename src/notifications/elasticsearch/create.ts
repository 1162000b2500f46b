/**
 * The `elasticsearch` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { ConfigError, NotificationError } from '../../errors.js';
import { redactedExcerpt, redactor } from '../../secrets.js';
import type { RunReport, SourceReport } from '../../report.js';
import { totalStoredBytes } from '../../report.js';
import { loginOf, type Login } from '../credentials.js';
import { HttpStatusError, basicAuth, sendHttp } from '../../lib/http.js';
import { reportForExport } from '../message.js';
import type { Notifier, NotificationOptions } from '../types.js';
import { DEFAULT_INDEX_PATTERN, formatIndexName, patternProblem } from './index-name.js';
import type { ElasticsearchOptions } from './schema.js';

const DEFAULTS = { start: false, success: true, failure: true };

/** The document for one source of a run (or for the run itself when it failed before any source). */
export function backupDocument(run: RunReport, source: SourceReport | undefined): Record<string, unknown> {
  const status = (s: string) => (s === 'failure' ? 'failed' : s);
  const common = {
    '@timestamp': source?.finishedAt ?? run.finishedAt ?? new Date().toISOString(),
    hostname: run.hostname,
    job: { name: run.jobName, path: run.jobPath },
    run: {
      id: run.runId,
      status: status(run.status),
      started_at: run.startedAt,
      finished_at: run.finishedAt ?? null,
      duration_seconds: run.durationSeconds ?? null,
      dry_run: run.dryRun,
      tool_version: run.toolVersion,
    },
  };
  if (!source) {
    return { ...common, status: status(run.status), error: run.error ?? null, source: null };
  }
  const stored = totalStoredBytes(source);
  const raw = source.artifacts.every((a) => a.rawBytes !== undefined) ? source.artifacts.reduce((sum, a) => sum + (a.rawBytes ?? 0), 0) : null;
  const retained = source.destinations.map((d) => d.retention?.kept.length).filter((n): n is number => n !== undefined);
  const uploadSeconds = Math.max(0, ...source.destinations.map((d) => d.uploadSeconds));
  return {
    ...common,
    // 'success' | 'warning' | 'failed': the original wrote 'success' and 'failed'.
    status: status(source.status),
    error: source.error ?? null,
    warnings: source.warnings,
    source: { id: source.id, name: source.name, type: source.type },
    started_at: source.startedAt,
    finished_at: source.finishedAt ?? null,
    duration_seconds: source.durationSeconds ?? null,
    stored_bytes: stored,
    raw_bytes: raw,
    compression: source.compression,
    encryption: source.encryption,
    artifacts: source.artifacts.map((a) => ({ name: a.name, file: a.file, raw_bytes: a.rawBytes ?? null, stored_bytes: a.storedBytes, sha256: a.sha256 })),
    destinations: source.destinations.map((d) => ({
      id: d.id,
      type: d.type,
      status: status(d.status),
      error: d.error ?? null,
      stored_bytes: d.storedBytes,
      upload_seconds: d.uploadSeconds,
      retained_copies: d.retention?.kept.length ?? null,
      deleted_runs: d.retention?.deleted.length ?? null,
    })),
    // The original's field names, so existing dashboards keep working.
    stats: {
      starttime: source.startedAt,
      endtime: source.finishedAt ?? null,
      size: stored,
      dumptime: source.durationSeconds ?? null,
      uploadtime: uploadSeconds,
      dumpedfiles: source.artifacts.length,
      retainedfiles: retained.length ? Math.min(...retained) : null,
    },
  };
}

interface BulkItemResult {
  status?: number;
  error?: { type?: string; reason?: string } | string;
}

/** Splits `https://user:pass@host/` into a clean URL and the login it carried. */
function splitUrlLogin(url: string): { url: string; login?: Login } {
  const parsed = new URL(url);
  if (!parsed.username) return { url };
  const login = { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
  redactor.addLogin(login.username, login.password);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), login };
}

export function create(options: NotificationOptions<ReturnType<typeof ElasticsearchOptions>>): Notifier {
  const plugin = options.id ?? 'elasticsearch';
  const pattern = options.indexpattern ?? DEFAULT_INDEX_PATTERN;
  const bad = patternProblem(pattern);
  if (bad) throw new ConfigError([{ path: `notifications.${plugin}.indexpattern`, message: bad }]);
  const { url, login: urlLogin } = splitUrlLogin(options.url);
  const login = loginOf(options) ?? urlLogin;
  const bulkUrl = `${url.replace(/\/+$/, '')}/_bulk`;
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson', accept: 'application/json' };
  if (options.api_key) headers.authorization = `ApiKey ${options.api_key}`;
  else if (login) headers.authorization = basicAuth(login.username, login.password);
  const success = options.notify_on_success ?? DEFAULTS.success;
  const failure = options.notify_on_failure ?? DEFAULTS.failure;

  return {
    // The run summary carries every source: one document per wanted source (see `wanted` below).
    wants: (event) => event.kind === 'run' && (success || failure),
    async notify(event, { signal }) {
      const run = reportForExport(event.run);
      const index = formatIndexName(pattern, new Date(run.startedAt));
      const wanted = (s: { status: string }) => (s.status === 'failure' ? failure : success);
      const docs: { id: string; doc: Record<string, unknown> }[] = run.sources.length
        ? run.sources.filter(wanted).map((s) => ({ id: `${run.runId}-${s.id}`, doc: backupDocument(run, s) }))
        : wanted(run)
          ? [{ id: `${run.runId}-run`, doc: backupDocument(run, undefined) }]
          : [];
      if (docs.length === 0) return;
      const body = docs.map(({ id, doc }) => `${JSON.stringify({ create: { _index: index, _id: id } })}\n${JSON.stringify(doc)}\n`).join('');
      const response = await sendHttp({ method: 'POST', url: bulkUrl, headers, body, signal, plugin });
      let parsed: { errors?: boolean; items?: Record<string, BulkItemResult>[] };
      try {
        parsed = JSON.parse(response.text) as typeof parsed;
      } catch {
        throw new NotificationError(`${new URL(url).origin} did not answer the _bulk request with JSON: is this an Elasticsearch URL?`, { plugin });
      }
      if (!parsed.errors) return;
      // 409 on `create` means the document is already there (a retried request): delivered.
      const failed = (parsed.items ?? []).map((item) => Object.values(item)[0]).filter((r): r is BulkItemResult => !!r && (r.status ?? 500) >= 300 && r.status !== 409);
      const first = failed[0];
      if (!first) return;
      const reason = typeof first.error === 'string' ? first.error : [first.error?.type, first.error?.reason].filter(Boolean).join(': ');
      throw new HttpStatusError(
        first.status ?? 500,
        redactedExcerpt(`Elasticsearch refused ${failed.length} of ${docs.length} document(s) for index "${index}": HTTP ${first.status ?? '?'} ${reason}`, 400),
        plugin,
      );
    },
  };
}
