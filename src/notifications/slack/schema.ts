import { z } from 'zod';
import { perSourceField } from '../chat/schema.js';
import { lazySchema } from '../../plugin.js';

export const SlackOptions = lazySchema(() =>
  z.object({
    url: z
      .url({ protocol: /^https?$/ })
      .describe('Incoming webhook URL from the Slack app (https://hooks.slack.com/services/...). Secret: it authorizes posting; use url_file or ${ENV}.'),
    per_source: perSourceField(),
  }),
);
export type SlackOptions = z.output<ReturnType<typeof SlackOptions>>;
