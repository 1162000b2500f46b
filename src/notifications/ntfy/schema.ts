import { z } from 'zod';
import { perSourceField } from '../chat/schema.js';
import { lazySchema } from '../../plugin.js';

const PRIORITY_NAMES = ['min', 'low', 'default', 'high', 'max', 'urgent'] as const;

function priority(description: string, fallback: number) {
  return z
    .union([z.coerce.number().int().min(1).max(5), z.enum(PRIORITY_NAMES)])
    .default(fallback)
    .transform((v) => String(v))
    .describe(description);
}

export const NtfyOptions = lazySchema(() =>
  z.object({
    url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('Topic URL, {base}/{topic} (e.g. https://ntfy.sh/backups-7f3a). On a public server the topic name is the only protection: pick one nobody guesses.'),
    base: z.url({ protocol: /^https?$/ }).default('https://ntfy.sh').describe('Server, used with topic instead of url (default https://ntfy.sh).'),
    topic: z
      .string()
      .regex(/^[-_A-Za-z0-9]{1,64}$/, 'use 1-64 letters, digits, "-" and "_"')
      .optional()
      .describe('Topic, used with base instead of url.'),
    token: z.string().min(1).optional().describe('Access token (tk_...) sent as "Authorization: Bearer". Secret: use token_file or ${ENV}.'),
    username: z.string().min(1).optional().describe('User for Basic authentication (with password), instead of token.'),
    password: z.string().min(1).optional().describe('Password for Basic authentication. Secret: use password_file or ${ENV}.'),
    priority_success: priority('Priority of success and start messages: 1-5 or min, low, default, high, max (default 3).', 3),
    priority_failure: priority('Priority of failure messages: 1-5 or min, low, default, high, max (default 4, high).', 4),
    per_source: perSourceField(),
  }),
);
export type NtfyOptions = z.output<ReturnType<typeof NtfyOptions>>;
