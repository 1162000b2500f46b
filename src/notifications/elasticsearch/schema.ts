import { z } from 'zod';
import { secret } from '../../config/fields.js';
import { loginFields } from '../credentials.js';
import { lazySchema } from '../../plugin.js';

export const ElasticsearchOptions = lazySchema(() =>
  z.object({
    url: z
      .url({ protocol: /^https?$/ })
      .describe('Elasticsearch (or OpenSearch) base URL, e.g. https://es.example.org:9200. user:password@ in the URL is accepted as the original allowed; prefer credentials.'),
    indexpattern: z
      .string()
      .min(1)
      .optional()
      .describe('Index to write to, strftime style on the run start (UTC): %Y %y %m %d %H %M %S %j %%. Default backups-%Y.'),
    ...loginFields(),
    api_key: secret('Elasticsearch API key (the base64 "encoded" form), sent as Authorization: ApiKey; instead of a username/password.').optional(),
  }),
);
export type ElasticsearchOptions = z.output<ReturnType<typeof ElasticsearchOptions>>;
