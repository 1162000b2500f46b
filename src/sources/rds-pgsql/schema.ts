import { z } from 'zod';
import { lazySchema } from '../../plugin.js';
import { RdsRestoreShape } from '../aws/rds-schema.js';
import { PgsqlDumpShape } from '../sql/pg-schema.js';

export const RdsPgsqlOptions = lazySchema(() =>
  z.object({
    ...RdsRestoreShape(),
    ...PgsqlDumpShape(),
  }),
);
export type RdsPgsqlOptions = z.output<ReturnType<typeof RdsPgsqlOptions>>;
