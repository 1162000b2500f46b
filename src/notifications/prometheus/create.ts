/**
 * The `prometheus` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { readFile } from 'node:fs/promises';
import { NotificationError } from '../../errors.js';
import { redact } from '../../secrets.js';
import { succeeded, type RunReport } from '../../report.js';
import { loginOf } from '../credentials.js';
import { HttpStatusError, basicAuth, isPermanentHttpError, safeOrigin, sendHttp } from '../../lib/http.js';
import type { CreateContext } from '../../plugin.js';
import type { Notifier, NotificationOptions } from '../types.js';
import { groupingSegment, mergeGroup, parseExposition, renderExposition, runSamples, sourceSamples, sourceSucceeded, type Sample } from './metrics.js';
import { writeFileAtomically } from '../../lib/atomic-file.js';
import type { PrometheusOptions } from './schema.js';

const messageOf = (error: unknown) => redact(error instanceof Error ? error.message : String(error));

const DEFAULTS = { start: false, success: true, failure: true };

export const PUSH_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Group {
  /** Grouping labels, in URL order: job, instance, source. */
  key: [label: string, value: string][];
  samples: Sample[];
}

/** The groups a run publishes: one per source whose outcome is wanted, plus the job-level one. */
export function groupsOf(run: RunReport, job: string, instance: string, flags: { success: boolean; failure: boolean }): Group[] {
  const wanted = (ok: boolean) => (ok ? flags.success : flags.failure);
  const groups: Group[] = run.sources
    .filter((s) => wanted(sourceSucceeded(s)))
    .map((s) => ({ key: [['job', job], ['instance', instance], ['source', s.id]], samples: sourceSamples(run, s) }));
  if (wanted(succeeded(run.status))) groups.push({ key: [['job', job], ['instance', instance]], samples: runSamples(run) });
  return groups;
}

export function pushUrl(base: string, key: Group['key']): string {
  return `${base.replace(/\/+$/, '')}/metrics/${key.map(([label, value]) => groupingSegment(label, value)).join('/')}`;
}

export function create(options: NotificationOptions<ReturnType<typeof PrometheusOptions>>, ctx: CreateContext): Notifier {
  const plugin = options.id ?? 'prometheus';
  if (!options.url && !options.textfile) throw new NotificationError('set url (pushgateway) or textfile', { plugin });
  const job = options.job ?? ctx.job.name;
  const instance = options.instance ?? ctx.job.hostname;
  const login = loginOf(options);
  const flags = { success: options.notify_on_success ?? DEFAULTS.success, failure: options.notify_on_failure ?? DEFAULTS.failure };

  const push = async (group: Group, signal: AbortSignal) => {
    const url = pushUrl(options.url!, group.key);
    const headers: Record<string, string> = { 'content-type': PUSH_CONTENT_TYPE };
    if (login) headers.authorization = basicAuth(login.username, login.password);
    try {
      await sendHttp({ method: 'POST', url, headers, body: renderExposition(group.samples), signal, plugin });
    } catch (error) {
      if (error instanceof HttpStatusError && (error.status === 401 || error.status === 403)) {
        throw new HttpStatusError(
          error.status,
          `pushgateway ${safeOrigin(url)} refused the push (HTTP ${error.status}): ${login ? 'check username and password' : 'it needs a username and password (credentials)'}`,
          plugin,
        );
      }
      throw error;
    }
  };

  const writeTextfile = async (groups: Group[]) => {
    const file = options.textfile!;
    let samples: Sample[] = [];
    try {
      samples = parseExposition(await readFile(file, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // Same merge as the pushgateway's POST; the textfile carries job/source as labels
    // (node_exporter adds its own instance label).
    for (const group of groups) {
      const labels = Object.fromEntries(group.key.filter(([label]) => label !== 'instance'));
      samples = mergeGroup(samples, labels, group.samples);
    }
    await writeFileAtomically(file, renderExposition(samples), { mode: 0o644 });
  };

  return {
    // The run summary carries every source: one push per run, its sources filtered by the flags in groupsOf.
    wants: (event) => event.kind === 'run' && (flags.success || flags.failure),
    async notify(event, { signal }) {
      const groups = groupsOf(event.run, job, instance, flags);
      if (groups.length === 0) return;
      const failures: string[] = [];
      if (options.textfile) {
        await writeTextfile(groups).catch((error: unknown) => failures.push(`textfile ${options.textfile}: ${messageOf(error)}`));
      }
      if (options.url) {
        for (const group of groups) {
          try {
            await push(group, signal);
          } catch (error) {
            // A refused push (401, 400 inconsistent metrics) fails the same way for every group:
            // stop, and keep the HTTP status so the dispatcher does not retry it.
            if (isPermanentHttpError(error)) {
              if (failures.length === 0) throw error;
              throw new HttpStatusError((error as HttpStatusError).status, [...failures, (error as Error).message].join('; '), plugin);
            }
            failures.push(messageOf(error));
            if (signal.aborted) break;
          }
        }
      }
      if (failures.length) throw new NotificationError([...new Set(failures)].join('; '), { plugin });
    },
  };
}
