import { z } from 'zod';
import { lazySchema } from '../../plugin.js';

export const FlagfileOptions = lazySchema(() =>
  z.object({
    flagfile: z.string().min(1).optional().describe('File whose modification time is set when the whole run succeeded.'),
    filename: z.string().min(1).optional().describe('Same as flagfile (the original accepted both names).'),
  }),
);
export type FlagfileOptions = z.output<ReturnType<typeof FlagfileOptions>>;
