/**
 * `prometheus`: backup metrics per source, pushed to a Prometheus pushgateway and/or written
 * to a node_exporter textfile. Sent once per run (at the end), for every source of the run.
 *
 * Every push is a POST (merge): only the metric names pushed are replaced in the group, so a
 * failure (which pushes no last_success) leaves the previous success's timestamp in place.
 * See metrics.ts for what a success and a failure publish.
 */
import { defineNotification } from '../types.js';
import { loginProblems } from '../credentials.js';
import { PrometheusOptions } from './schema.js';

export const prometheusNotification = defineNotification({
  type: 'prometheus',
  description: 'Backup metrics per source to a Prometheus pushgateway and/or a node_exporter textfile.',
  get options() {
    return PrometheusOptions();
  },
  records: true,
  problems(options) {
    const problems = loginProblems(options);
    if (!options.url && !options.textfile) problems.push({ key: 'url', message: 'required (or textfile)' });
    return problems;
  },
  create: async (options, ctx) => (await import('./create.js')).create(options, ctx),
});
