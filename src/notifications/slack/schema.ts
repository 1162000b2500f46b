import { z } from 'zod';
import { perSourceField } from '../chat/schema.js';

export const SlackOptions = z.object({
  url: z
    .url({ protocol: /^https?$/ })
    .describe('Incoming webhook URL from the Slack app (https://hooks.slack.com/services/...). Secret: it authorizes posting; use url_file or ${ENV}.'),
  per_source: perSourceField,
});
export type SlackOptions = z.output<typeof SlackOptions>;
