import { z } from 'zod';

export const FlagfileOptions = z.object({
  flagfile: z.string().min(1).optional().describe('File whose modification time is set when the whole run succeeded.'),
  filename: z.string().min(1).optional().describe('Same as flagfile (the original accepted both names).'),
});
export type FlagfileOptions = z.output<typeof FlagfileOptions>;
