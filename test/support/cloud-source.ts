/** Building cloud sources from job-file options and watching what they log, for the cloud source tests. */
import { Writable } from 'node:stream';
import { SourceCommon } from '../../src/config/common.js';
import { pluginSchema } from '../../src/config/validate.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { Source, SourceContext, SourcePlugin } from '../../src/sources/types.js';

export const JOB = { path: '/etc/backup/job.json', name: 'job', hostname: 'host1' };

/** Validates `options` like the loader (common keys merged, unknown keys rejected), checks problems(), creates the source. */
export async function makeSource(plugin: SourcePlugin, options: Record<string, unknown>, logger?: Logger): Promise<Source> {
  const parsed = pluginSchema(SourceCommon, plugin).parse({ id: 'db', type: plugin.type, ...options }) as Parameters<SourcePlugin['create']>[0];
  const problems = plugin.problems?.(parsed) ?? [];
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.key}: ${p.message}`).join('; '));
  return plugin.create(parsed, { job: JOB, logger: logger ?? capturingLogger().logger });
}

export function problemsOf(plugin: SourcePlugin, options: Record<string, unknown>): string[] {
  const result = pluginSchema(SourceCommon, plugin).safeParse({ id: 'db', type: plugin.type, ...options });
  if (!result.success) return result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  return (plugin.problems?.(result.data as never) ?? []).map((p) => `${p.key}: ${p.message}`);
}

export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  return { logger: createLogger({ level: 'debug', format: 'text', destination: sink, onLine: (l) => lines.push(l) }), lines };
}

export function cloudContext(tmpdir: string, logger: Logger, signal: AbortSignal = new AbortController().signal): SourceContext {
  return { job: JOB, tmpdir, logger, signal };
}
