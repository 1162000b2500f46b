/**
 * The option the message channels (slack, discord, matrix, telegram, ntfy) share in their
 * schemas. Kept apart from chat.ts, so that declaring a channel does not load its sending code.
 * Built on first use, inside a channel's schema builder (see lazySchema).
 */
import { flag } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const perSourceField = lazySchema(() =>
  flag('Send one message per source (start/success/failure) as the original tool did, instead of one summary per run (default 0).').optional(),
);
