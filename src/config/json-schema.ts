/** The JSON Schema of job files, generated from the zod schemas (for editors and the docs). */
import { z } from 'zod';
import type { AnyObjectSchema, AnyPlugin } from '../plugin.js';
import { sourcePlugins } from '../sources/registry.js';
import { destinationPlugins } from '../destinations/registry.js';
import { notificationPlugins } from '../notifications/registry.js';
import { DestinationCommon, NotificationCommon, SourceCommon } from './common.js';
import { JobRootShape } from './job.js';

function secretTwins(schema: AnyObjectSchema, secretKeys: ReadonlySet<string>): Record<string, z.ZodType> {
  const twins: Record<string, z.ZodType> = {};
  for (const key of Object.keys(schema.shape)) {
    if (secretKeys.has(key)) twins[`${key}_file`] = z.string().optional().describe(`Read ${key} from this file instead (one trailing newline is dropped).`);
  }
  return twins;
}

function itemUnion(plugins: readonly AnyPlugin[], common: AnyObjectSchema, secretKeys: ReadonlySet<string>) {
  const variants = plugins
    .filter((p) => !p.retired)
    .map((p) => {
      const merged = z.strictObject({ ...common.shape, ...p.options.shape });
      return z
        .strictObject({
          ...merged.shape,
          ...secretTwins(merged, secretKeys),
          type: z.enum([p.type, ...(p.aliases ?? [])]).describe(p.description),
        })
        .describe(p.description);
    });
  return z.array(variants.length === 1 ? variants[0]! : z.union(variants));
}

export function jobJsonSchema(secretKeys: ReadonlySet<string>): Record<string, unknown> {
  const root = z.strictObject({
    ...JobRootShape,
    ...secretTwins(z.object(JobRootShape), secretKeys),
    sources: itemUnion(sourcePlugins, SourceCommon, secretKeys).min(1).describe('What to back up.'),
    destinations: itemUnion(destinationPlugins, DestinationCommon, secretKeys).min(1).describe('Where to store the backups.'),
    notifications: itemUnion(notificationPlugins, NotificationCommon, secretKeys).optional().describe('Who to tell about the result.'),
  });
  return {
    ...(z.toJSONSchema(root, { io: 'input', unrepresentable: 'any', target: 'draft-7' }) as Record<string, unknown>),
    title: 'backup-runner job file',
  };
}
