/**
 * Keys of the RDS snapshot sources (`rds`, `rds-pgsql`): which instance, how to restore its
 * newest automated snapshot to a temporary instance, how long to wait, and who dumps it. The
 * dump keys themselves come from the mysql / pgsql shapes (src/sources/sql/).
 */
import { z } from 'zod';
import { flag, secret, text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';
import { AwsConnectionShape, seconds } from './schema.js';

export const DEFAULT_INSTANCE_CLASS = 'db.t3.small';

export const RdsRestoreShape = lazySchema(() => ({
  ...AwsConnectionShape(),
  instancename: text('Identifier of the RDS instance whose newest automated snapshot is restored (the live instance is never touched).'),
  security_group: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .optional()
    .describe('VPC security group id(s) for the temporary instance (sg-...); must allow inbound connections from this host on the database port. Default: the VPC default group.'),
  instance_class: text(`Instance class of the temporary instance (default ${DEFAULT_INSTANCE_CLASS}).`).default(DEFAULT_INSTANCE_CLASS),
  subnet_group: text('DB subnet group of the temporary instance (default: the one the snapshot was taken in, else the default VPC).').optional(),
  publicly_accessible: flag('Give the temporary instance a public address (only if this host reaches it over the internet; prefer running inside the VPC).').optional(),
  availability_zone: text('Availability zone of the temporary instance (default: chosen by RDS).').optional(),
  wait_timeout: seconds('Give up (and delete the temporary instance) when it is not available after this many seconds (default 3600).').default(3600),
  poll_interval: seconds('Seconds between status checks while waiting (default 30).').default(30),
  delete_timeout: seconds(
    'How long the cleanup keeps retrying to delete the temporary instance when RDS refuses for now (e.g. while it is still being created); default 600, at most 60 after SIGINT/SIGTERM.',
  ).default(600),
  wait_for_deletion: flag('After the dump, wait until RDS reports the temporary instance gone (default: ask for deletion and go on).').optional(),
  dbuser: text('Database user for the dump (on a restored snapshot, the live instance\'s users and passwords apply).').optional(),
  dbpass: secret('Password of dbuser; written to a temporary 0600 credentials file, never put on a command line.').optional(),
}));
