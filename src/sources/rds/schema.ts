import { z } from 'zod';
import { lazySchema } from '../../plugin.js';
import { RdsRestoreShape } from '../aws/rds-schema.js';
import { MysqlDumpShape } from '../sql/mysql-schema.js';

export const RdsOptions = lazySchema(() =>
  z.object({
    ...RdsRestoreShape(),
    ...MysqlDumpShape(),
  }),
);
export type RdsOptions = z.output<ReturnType<typeof RdsOptions>>;
