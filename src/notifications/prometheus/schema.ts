import { z } from 'zod';
import { loginFields } from '../credentials.js';
import { lazySchema } from '../../plugin.js';

export const PrometheusOptions = lazySchema(() =>
  z.object({
    url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('Pushgateway base URL, without /metrics (e.g. http://pushgw:9091/). Metrics are pushed per source to /metrics/job/<job>/instance/<host>/source/<id>.'),
    ...loginFields(),
    textfile: z
      .string()
      .min(1)
      .regex(/\.prom$/, 'node_exporter reads only files ending in .prom')
      .optional()
      .describe("Also (or instead) write the metrics to this .prom file for node_exporter's textfile collector (written atomically; one file per job)."),
    job: z.string().min(1).optional().describe('Value of the job label. Default: the job file name without extension.'),
    instance: z.string().min(1).optional().describe('Value of the instance grouping label on the pushgateway. Default: the job hostname.'),
  }),
);
export type PrometheusOptions = z.output<ReturnType<typeof PrometheusOptions>>;
