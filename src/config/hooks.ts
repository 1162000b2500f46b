/**
 * The job file's hook keys (`before`, `after`, `on_error`, `hook_timeout`), accepted at the
 * job root and in every source; src/pipeline/hooks.ts runs them.
 */
import { z } from 'zod';
import { duration } from './fields.js';

/** hook_timeout when the job file sets none: 5 minutes. */
export const DEFAULT_HOOK_TIMEOUT_SECONDS = 300;

const Argv = z.array(z.string().min(1, 'must not be empty')).min(1, 'give at least the program');

export const HookCommand = z
  .union([
    z.string().min(1, 'must not be empty'),
    Argv,
    z.strictObject({
      command: z.union([z.string().min(1), Argv]).describe('The command: a string (run by /bin/sh -c) or an argv array (no shell).'),
      shell: z
        .boolean()
        .optional()
        .describe('For a string command: false splits it into words and runs it without a shell (default true).'),
      timeout: duration('Kill the command after this long (e.g. 90s, 10m); default hook_timeout.').optional(),
    }),
  ])
  .superRefine((value, ctx) => {
    if (typeof value === 'object' && !Array.isArray(value) && value.shell === true && Array.isArray(value.command)) {
      ctx.addIssue({ code: 'custom', message: 'shell: true needs a string command (an argv array never runs through a shell)' });
    }
  });
export type HookCommand = z.output<typeof HookCommand>;

/** Keys of the job root and of every source (merged into their schemas). */
export const HookSettings = {
  before: HookCommand.optional().describe(
    'Command run before the job (root) or this source starts: argv array (no shell) or a string (/bin/sh -c). If it fails, the job or source fails with its output and nothing is dumped.',
  ),
  after: HookCommand.optional().describe(
    'Command run after the job or this source finished, whatever the outcome; BACKUP_STATUS tells how it went. Its failure is a warning.',
  ),
  on_error: HookCommand.optional().describe('Command run when the job or this source failed (before `after`). Its failure is a warning.'),
  hook_timeout: duration('Time limit for each hook command (e.g. 90s, 10m; default 5m).').optional(),
};
export type HookSettings = z.output<z.ZodObject<typeof HookSettings>>;
