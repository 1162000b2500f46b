/**
 * The option the message channels (slack, discord, matrix, telegram, ntfy) share in their
 * schemas. Kept apart from chat.ts, so that declaring a channel does not load its sending code.
 */
import { flag } from '../../config/fields.js';

export const perSourceField = flag(
  'Send one message per source (start/success/failure) as the original tool did, instead of one summary per run (default 0).',
).optional();
