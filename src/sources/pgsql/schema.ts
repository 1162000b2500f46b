import { z } from 'zod';
import { lazySchema } from '../../plugin.js';
import { PgsqlConnectionShape, PgsqlDumpShape } from '../sql/pg-schema.js';

export const PgsqlOptions = lazySchema(() =>
  z.object({
    ...PgsqlConnectionShape(),
    ...PgsqlDumpShape(),
  }),
);
export type PgsqlOptions = z.output<ReturnType<typeof PgsqlOptions>>;
