import { z } from 'zod';
import { RdsRestoreShape } from '../aws/rds-schema.js';
import { MysqlDumpShape } from '../sql/mysql-schema.js';

export const RdsOptions = z.object({
  ...RdsRestoreShape,
  ...MysqlDumpShape,
});
export type RdsOptions = z.output<typeof RdsOptions>;
