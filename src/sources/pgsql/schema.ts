import { z } from 'zod';
import { PgsqlConnectionShape, PgsqlDumpShape } from '../sql/pg-schema.js';

export const PgsqlOptions = z.object({
  ...PgsqlConnectionShape,
  ...PgsqlDumpShape,
});
export type PgsqlOptions = z.output<typeof PgsqlOptions>;
