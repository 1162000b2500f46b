import { z } from 'zod';

/** The original's keys, kept so an old job file fails with the retirement message, not "unknown key". */
export const HipchatOptions = z.object({
  url: z.string().optional().describe('HipChat v2 integration URL (the service no longer exists).'),
});
export type HipchatOptions = z.output<typeof HipchatOptions>;
