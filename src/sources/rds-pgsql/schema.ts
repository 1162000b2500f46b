import { z } from 'zod';
import { RdsRestoreShape } from '../aws/rds-schema.js';
import { PgsqlDumpShape } from '../sql/pg-schema.js';

export const RdsPgsqlOptions = z.object({
  ...RdsRestoreShape,
  ...PgsqlDumpShape,
});
export type RdsPgsqlOptions = z.output<typeof RdsPgsqlOptions>;
