import { z } from 'zod';
import { count, flag, secret, text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';
import { AwsConnectionShape, seconds } from '../aws/schema.js';

export const SnapshotOptions = lazySchema(() =>
  z.object({
    ...AwsConnectionShape(),
    aws_access_key_id: text('AWS access key id, flat form of credentials.aws_access_key_id (the original table lists it so).').optional(),
    aws_secret_access_key: secret('AWS secret access key, flat form of credentials.aws_secret_access_key').optional(),
    volume_id: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .optional()
      .describe('EBS volume id(s) to snapshot (vol-...): one, or a list.'),
    instancename: text('Name tag of an EC2 instance: every EBS volume attached to it is snapshotted.').optional(),
    instance_id: text('Id of an EC2 instance (i-...): every EBS volume attached to it is snapshotted.').optional(),
    availability_zone: text(
      'Availability zone of the volumes (original key, e.g. eu-west-1a). When "region" is not set, the region is taken from it; volumes elsewhere are reported.',
    ).optional(),
    description: z.string().max(200).optional().describe('Text put before the generated snapshot description (default "backup-runner").'),
    wait: flag('Wait until every snapshot is completed (DescribeSnapshots state "completed") before the run counts as a success; recommended with retain_snapshots.').optional(),
    wait_timeout: seconds('Give up waiting for completion after this many seconds (default 3600; the snapshots go on).').default(3600),
    poll_interval: seconds('Seconds between status checks while waiting (default 15).').default(15),
    retain_snapshots: count(
      'Keep this many newest snapshots of each volume made by this source (tag backup-runner:source) and delete older ones of ours; snapshots this source did not tag are never touched. Default: delete nothing.',
      1,
    ).optional(),
  }),
);
export type SnapshotOptions = z.output<ReturnType<typeof SnapshotOptions>>;

/** `eu-west-1a` → `eu-west-1` (also local zones `us-west-2-lax-1a` → `us-west-2`). */
export function regionOfZone(zone: string): string | undefined {
  return /^([a-z]{2}(?:-gov)?-[a-z]+-\d+)/.exec(zone)?.[1];
}
