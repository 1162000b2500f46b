/**
 * The job-file reference (docs/job-file.md), rendered from the same zod schemas the loader
 * validates with, so it cannot drift: a test compares the committed file with this output.
 */
import { z } from 'zod';
import type { AnyPlugin } from '../plugin.js';
import { SECRET_KEYS } from '../secrets.js';
import { sourcePlugins } from '../sources/registry.js';
import { destinationPlugins } from '../destinations/registry.js';
import { notificationPlugins } from '../notifications/registry.js';
import { DestinationCommon, NotificationCommon, SourceCommon } from './common.js';
import { JobRootShape } from './job.js';
import { schemaLayers } from './schema-layers.js';

function describeOf(schema: z.ZodType): string {
  for (const layer of schemaLayers(schema)) if (layer.description) return layer.description;
  return '';
}

function typeOf(schema: z.ZodType): string {
  let json: Record<string, unknown>;
  try {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  } catch {
    return 'any';
  }
  return summarize(json);
}

function summarize(json: Record<string, unknown>): string {
  if (Array.isArray(json.enum)) return (json.enum as unknown[]).map((v) => JSON.stringify(v)).join(' \\| ');
  if (json.const !== undefined) return JSON.stringify(json.const);
  const variants = (json.anyOf ?? json.oneOf) as Record<string, unknown>[] | undefined;
  if (variants) return [...new Set(variants.map(summarize))].join(' \\| ');
  if (json.type === 'array') return `${summarize((json.items as Record<string, unknown>) ?? {})}[]`;
  if (typeof json.type === 'string') return json.type === 'integer' ? 'integer' : json.type;
  return 'any';
}

function isRequired(schema: z.ZodType): boolean {
  return !schema.safeParse(undefined).success;
}

function table(shape: Record<string, z.ZodType>, secrets: ReadonlySet<string>): string {
  const rows = Object.entries(shape).map(([key, schema]) => {
    const secret = secrets.has(key) && !/secret/i.test(describeOf(schema)) ? ' Secret: `${ENV}` or `' + key + '_file` keep it out of the file.' : '';
    const text = `${describeOf(schema)}${secret}`.replace(/\|/g, '\\|').replace(/\n/g, ' ');
    return `| \`${key}\` | ${typeOf(schema)} | ${isRequired(schema) ? 'yes' : ''} | ${text} |`;
  });
  return ['| key | type | required | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

function pluginSection(kind: string, plugin: AnyPlugin): string {
  const aliases = plugin.aliases?.length ? ` (also \`${plugin.aliases.join('`, `')}\`)` : '';
  const secrets = new Set([...SECRET_KEYS, ...(plugin.secrets ?? [])]);
  const body = plugin.retired ? `Retired: ${plugin.retired}` : `${plugin.description} Details: [src/${kind}/${plugin.type}/README.md](../src/${kind}/${plugin.type}/README.md).\n\n${table(plugin.options.shape, secrets)}`;
  return `### \`${plugin.type}\`${aliases}\n\n${body}\n`;
}

export function renderJobReference(): string {
  const parts = [
    '# Job file reference',
    '',
    '<!-- Generated from the zod schemas by `npm run docs`; a test fails when this file is out of date. -->',
    '',
    'A job file is JSON; comments (`//`, `/* */`) and trailing commas are accepted. Any string may',
    'contain `${ENV_VAR}` (`$${...}` for a literal). Every secret key has a `<key>_file` twin that reads',
    'the value from a file. `backup schema` prints the JSON Schema for editors; `backup validate JOB`',
    'checks a file and names every problem with its place.',
    '',
    '## Root',
    '',
    table(JobRootShape, SECRET_KEYS),
    '',
    '## Sources',
    '',
    'Keys every source accepts:',
    '',
    table(SourceCommon.shape, SECRET_KEYS),
    '',
    ...sourcePlugins.map((p) => pluginSection('sources', p)),
    '## Destinations',
    '',
    'Keys every destination accepts:',
    '',
    table(DestinationCommon.shape, SECRET_KEYS),
    '',
    ...destinationPlugins.map((p) => pluginSection('destinations', p)),
    '## Notifications',
    '',
    'Keys every notification accepts:',
    '',
    table(NotificationCommon.shape, SECRET_KEYS),
    '',
    ...notificationPlugins.map((p) => pluginSection('notifications', p)),
  ];
  return `${parts.join('\n').trimEnd()}\n`;
}
