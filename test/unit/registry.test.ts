/**
 * The registries and the plugin folders agree: every folder under src/<kind>/ with an
 * index.ts is registered, every registered type has a folder named after it with a README,
 * every option of every plugin is described (the text becomes the JSON Schema and docs), and
 * every plugin's schema is built on first use.
 * Folders without index.ts hold shared code (src/sources/sql, src/destinations/cloud).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sourcePlugins } from '../../src/sources/registry.js';
import { destinationPlugins } from '../../src/destinations/registry.js';
import { notificationPlugins } from '../../src/notifications/registry.js';
import { DestinationCommon, NotificationCommon, SourceCommon } from '../../src/config/common.js';

/** A description given anywhere along optional/default/pipe wrappers (`.describe().optional()`). */
function descriptionOf(schema: z.ZodType): string | undefined {
  let current: z.ZodType | undefined = schema;
  for (let i = 0; current && i < 10; i++) {
    if (current.description) return current.description;
    if (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodNullable) current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else return undefined;
  }
  return undefined;
}

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function pluginFolders(kind: string): string[] {
  return readdirSync(join(SRC, kind), { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(SRC, kind, e.name, 'index.ts')))
    .map((e) => e.name)
    .sort();
}

for (const [kind, plugins, common] of [
  ['sources', sourcePlugins, SourceCommon],
  ['destinations', destinationPlugins, DestinationCommon],
  ['notifications', notificationPlugins, NotificationCommon],
] as const) {
  describe(`${kind} registry`, () => {
    it('no plugin repeats a common key (the loader reads the two apart: typedOptions in config/validate.ts)', () => {
      const repeated = plugins.flatMap((p) => Object.keys(p.options.shape).filter((key) => Object.hasOwn(common.shape, key)).map((key) => `${p.type}.${key}`));
      expect(repeated).toEqual([]);
    });
    it('lists exactly the plugin folders', () => {
      expect(plugins.map((p) => p.type).sort()).toEqual(pluginFolders(kind));
    });
    it('every plugin builds its options schema on first use, through a getter (a start builds only the schemas its job names)', () => {
      const eager = plugins.filter((p) => typeof Object.getOwnPropertyDescriptor(p, 'options')?.get !== 'function').map((p) => p.type);
      expect(eager).toEqual([]);
      // Built once, then the same schema every time.
      for (const p of plugins) expect(p.options).toBe(p.options);
    });
    it('has no duplicate type or alias', () => {
      const names = plugins.flatMap((p) => [p.type, ...(p.aliases ?? [])]);
      expect(new Set(names).size).toBe(names.length);
    });
    for (const plugin of plugins) {
      it(`${plugin.type}: has a README and describes every option`, () => {
        expect(existsSync(join(SRC, kind, plugin.type, 'README.md'))).toBe(true);
        const undescribed = Object.entries(plugin.options.shape)
          .filter(([, schema]) => !descriptionOf(schema as z.ZodType))
          .map(([key]) => key);
        expect(undescribed).toEqual([]);
      });
    }
  });
}
