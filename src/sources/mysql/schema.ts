import { z } from 'zod';
import { MysqlConnectionShape, MysqlDumpShape } from '../sql/mysql-schema.js';

export const MysqlOptions = z.object({
  ...MysqlConnectionShape,
  ...MysqlDumpShape,
});
export type MysqlOptions = z.output<typeof MysqlOptions>;
