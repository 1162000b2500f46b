import { z } from 'zod';
import { perSourceField } from '../chat/schema.js';
import { lazySchema } from '../../plugin.js';

export const MatrixOptions = lazySchema(() =>
  z.object({
    url: z.url({ protocol: /^https?$/ }).describe('Homeserver base URL, e.g. https://matrix.org (the client-server API is under /_matrix/client/v3).'),
    access_token: z
      .string()
      .min(1)
      .describe('Access token of the account that posts (a dedicated bot user). Secret: use access_token_file or ${ENV}.'),
    room_id: z
      .string()
      .regex(/^[!#].+/, 'expected a room id (!abc:example.org) or a room alias (#backups:example.org)')
      .describe('Room to post to: its id (!abc:example.org, under Settings > Advanced) or an alias (#backups:example.org). The account must have joined it.'),
    per_source: perSourceField(),
  }),
);
export type MatrixOptions = z.output<ReturnType<typeof MatrixOptions>>;
