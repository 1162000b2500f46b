import { z } from 'zod';
import { lazySchema } from '../../plugin.js';

/** The original's keys, kept so an old job file fails with the retirement message, not "unknown key". */
export const HipchatOptions = lazySchema(() =>
  z.object({
    url: z.string().optional().describe('HipChat v2 integration URL (the service no longer exists).'),
  }),
);
export type HipchatOptions = z.output<ReturnType<typeof HipchatOptions>>;
