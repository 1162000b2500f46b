import { z } from 'zod';
import { lazySchema } from '../../plugin.js';

export const UptimeKumaOptions = lazySchema(() =>
  z.object({
    push_url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        'Push URL copied from the push monitor (https://kuma.example.org/api/push/TOKEN, with or without its ?status=up&msg=OK&ping=). Secret: the token in it lets anyone report this monitor.',
      ),
    url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('Uptime Kuma base URL (https://kuma.example.org); used with token instead of push_url.'),
    token: z.string().min(1).optional().describe('Push token of the monitor; used with url instead of push_url. Secret: use token_file or ${ENV}.'),
    on_failure: z
      .enum(['down', 'skip'])
      .default('down')
      .describe(
        '"down" (default) pushes status=down with the error, so the monitor alerts at once; "skip" pushes nothing on failure and lets the heartbeat interval expire (push only on success).',
      ),
  }),
);
export type UptimeKumaOptions = z.output<ReturnType<typeof UptimeKumaOptions>>;
