import { z } from 'zod';
import { lazySchema } from '../../plugin.js';
import { MysqlConnectionShape, MysqlDumpShape } from '../sql/mysql-schema.js';

export const MysqlOptions = lazySchema(() =>
  z.object({
    ...MysqlConnectionShape(),
    ...MysqlDumpShape(),
  }),
);
export type MysqlOptions = z.output<ReturnType<typeof MysqlOptions>>;
