import { z } from 'zod';
import { flag } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const HealthchecksOptions = lazySchema(() =>
  z.object({
    url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        'Ping URL of the check: https://hc-ping.com/{uuid}, {base}/ping/{uuid} when self-hosted, or {base}/{ping_key}/{slug}. Secret: it lets anyone report this check.',
      ),
    ping_key: z.string().min(1).optional().describe('Project ping key, used with slug instead of url. Secret: use ping_key_file or ${ENV}.'),
    slug: z
      .string()
      .regex(/^[a-z0-9_-]+$/, 'use a-z, 0-9, "-" and "_"')
      .optional()
      .describe('Check slug, used with ping_key instead of url.'),
    base: z
      .url({ protocol: /^https?$/ })
      .default('https://hc-ping.com')
      .describe('Ping endpoint for ping_key + slug (default https://hc-ping.com; self-hosted: https://hc.example.org/ping).'),
    create: flag('With ping_key + slug: let Healthchecks create the check on the first ping (?create=1).').optional(),
    max_log_bytes: z.coerce
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .default(10_000)
      .describe('Bytes of summary and log tail sent with each ping (the end is kept). Self-hosted Healthchecks stores 10,000 by default, hc-ping.com 100 kB.'),
  }),
);
export type HealthchecksOptions = z.output<ReturnType<typeof HealthchecksOptions>>;
