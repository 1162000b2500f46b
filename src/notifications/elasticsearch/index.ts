/**
 * `elasticsearch`: one document per source and run, written with the _bulk API over plain
 * HTTP (sendHttp). The official client is not used: this is one request per run, the client
 * would add a large dependency and its own retry/error layer on top of the dispatcher's, and
 * it refuses servers that do not send `X-Elastic-Product` (OpenSearch, proxies).
 *
 * Each document has a fixed `_id` (run id + source id) and is written with the `create`
 * action, so a retried request cannot duplicate documents (409 = already there) and data
 * streams, which accept only `create`, work too.
 */
import { defineNotification } from '../types.js';
import { loginProblems } from '../credentials.js';
import { DEFAULT_INDEX_PATTERN, patternProblem } from './index-name.js';
import { ElasticsearchOptions } from './schema.js';

export const elasticsearchNotification = defineNotification({
  type: 'elasticsearch',
  description: 'Index one document per source and run into Elasticsearch/OpenSearch.',
  get options() {
    return ElasticsearchOptions();
  },
  records: true,
  secrets: ['api_key'],
  problems(options) {
    const problems = loginProblems(options);
    const pattern = options.indexpattern ?? DEFAULT_INDEX_PATTERN;
    const bad = patternProblem(pattern);
    if (bad) problems.push({ key: 'indexpattern', message: bad });
    if (options.api_key && (options.credentials || options.username)) problems.push({ key: 'api_key', message: 'give either api_key or a username/password, not both' });
    return problems;
  },
  create: async (options) => (await import('./create.js')).create(options),
});
