/**
 * `snapshot`: EBS snapshots of volumes (given by id, or every volume attached to an instance),
 * tagged as ours, optionally waited for, and pruned to `retain_snapshots` per volume among the
 * snapshots we tagged. The stored artifact is a small JSON record of what was made, as the
 * original's status file: the snapshots themselves stay in the AWS account.
 */
import { defineSource } from '../types.js';
import { SnapshotOptions, regionOfZone } from './schema.js';

export const snapshotSource = defineSource({
  type: 'snapshot',
  description: 'EBS snapshots of volumes or of every volume of an EC2 instance, tagged, optionally waited for and pruned; stores a JSON record of them.',
  get options() {
    return SnapshotOptions();
  },
  problems(o) {
    const problems: { key: string; message: string }[] = [];
    const given = (['volume_id', 'instancename', 'instance_id'] as const).filter((k) => o[k] !== undefined);
    if (given.length !== 1) problems.push({ key: 'volume_id', message: `give exactly one of volume_id, instancename or instance_id${given.length ? ` (have ${given.join(', ')})` : ''}` });
    const flat = (['aws_access_key_id', 'aws_secret_access_key'] as const).filter((k) => o[k] !== undefined);
    if (flat.length === 1) problems.push({ key: flat[0] === 'aws_access_key_id' ? 'aws_secret_access_key' : 'aws_access_key_id', message: 'required with ' + flat[0] });
    if (flat.length > 0 && o.credentials) problems.push({ key: 'credentials', message: 'give credentials or the flat aws_access_key_id/aws_secret_access_key, not both' });
    if (o.availability_zone && !o.region && !regionOfZone(o.availability_zone)) {
      problems.push({ key: 'availability_zone', message: 'not an availability zone name (e.g. eu-west-1a); set "region" too' });
    }
    return problems;
  },
  create: async (options) => (await import('./create.js')).create(options),
});
