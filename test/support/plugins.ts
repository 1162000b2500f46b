/** Building plugins in tests the way the loader does, and small executable scripts for fakes. */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SourceCommon } from '../../src/config/common.js';
import { pluginSchema } from '../../src/config/validate.js';
import { silentLogger } from '../../src/log.js';
import type { Source, SourcePlugin } from '../../src/sources/types.js';

export const createContext = { job: { path: '/job.json', name: 'job', hostname: 'host' }, logger: silentLogger };

/** Validates the options with the plugin's full schema and cross-key checks, then creates the source. */
export async function makeSourceFrom(plugin: SourcePlugin, options: Record<string, unknown>): Promise<Source> {
  const parsed = pluginSchema(SourceCommon, plugin).parse({ id: 'db', type: plugin.type, ...options }) as Parameters<typeof plugin.create>[0];
  const problems = plugin.problems?.(parsed) ?? [];
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  return await plugin.create(parsed, createContext);
}

/** Writes an executable /bin/sh script (a fake dumper or a wrapper that logs its argv). */
export async function writeScript(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}
