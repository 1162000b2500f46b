/**
 * The snapshot source's instance: the EC2 calls that find the volumes, snapshot them, wait and
 * prune, and the JSON record. Loaded only when a job uses the source (index.ts declares it).
 */
import { Readable } from 'node:stream';
import type { EC2Client, Snapshot, Volume } from '@aws-sdk/client-ec2';
import { SourceError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { formatTimestamp } from '../../lib/timestamp.js';
import { awsClientConfig, awsRegion, awsSourceError, hasAwsCode, type AwsConnection } from '../aws/client.js';
import { TAG_HOST, TAG_SOURCE } from '../aws/tags.js';
import { pollUntil } from '../aws/wait.js';
import type { Artifact, Source, SourceContext, SourceOptions } from '../types.js';
import { regionOfZone, type SnapshotOptions } from './schema.js';

type Ec2Sdk = typeof import('@aws-sdk/client-ec2');

export interface VolumeTarget {
  volumeId: string;
  availabilityZone?: string;
  instanceId?: string;
  device?: string;
}

export interface SnapshotRecord {
  volume_id: string;
  snapshot_id: string;
  start_time?: string;
  state?: string;
  volume_size_gib?: number;
  instance_id?: string;
  device?: string;
}

function tagOf(snapshot: Snapshot, key: string): string | undefined {
  return snapshot.Tags?.find((t) => t.Key === key)?.Value;
}

function isoOf(date: Date | undefined): string | undefined {
  return date ? date.toISOString() : undefined;
}

export function create(o: SourceOptions<ReturnType<typeof SnapshotOptions>>): Source {
  const conn: AwsConnection = {
    region: o.region ?? (o.availability_zone ? regionOfZone(o.availability_zone) : undefined),
    endpoint_url: o.endpoint_url,
    credentials:
      o.credentials ??
      (o.aws_access_key_id && o.aws_secret_access_key ? { aws_access_key_id: o.aws_access_key_id, aws_secret_access_key: o.aws_secret_access_key } : undefined),
  };
  let session: { sdk: Ec2Sdk; client: EC2Client } | undefined;
  const connect = async () => {
    if (!session) {
      const sdk = await import('@aws-sdk/client-ec2');
      session = { sdk, client: new sdk.EC2Client(awsClientConfig(conn)) };
    }
    return session;
  };
  const fail = (doing: string, error: unknown) => awsSourceError(o.id, doing, error, conn, 'EC2');

  async function resolveVolumes({ sdk, client }: { sdk: Ec2Sdk; client: EC2Client }, signal: AbortSignal): Promise<VolumeTarget[]> {
    let instanceId = o.instance_id;
    if (o.instancename !== undefined) {
      const ids: string[] = [];
      try {
        let token: string | undefined;
        do {
          const out = await client.send(
            new sdk.DescribeInstancesCommand({
              Filters: [
                { Name: 'tag:Name', Values: [o.instancename] },
                { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
              ],
              NextToken: token,
            }),
            { abortSignal: signal },
          );
          for (const r of out.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId) ids.push(i.InstanceId);
          token = out.NextToken;
        } while (token);
      } catch (error) {
        throw fail(`DescribeInstances (Name=${o.instancename})`, error);
      }
      if (ids.length === 0) throw new SourceError(`no EC2 instance named "${o.instancename}" in ${conn.region ?? 'the default region'} (tag Name; terminated instances are ignored)`, { plugin: o.id });
      if (ids.length > 1) throw new SourceError(`${ids.length} EC2 instances are named "${o.instancename}" (${ids.join(', ')}): use instance_id to choose one`, { plugin: o.id });
      instanceId = ids[0];
    }
    const volumes: Volume[] = [];
    try {
      let token: string | undefined;
      do {
        const out = await client.send(
          new sdk.DescribeVolumesCommand(
            instanceId !== undefined ? { Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }], NextToken: token } : { VolumeIds: o.volume_id, NextToken: token },
          ),
          { abortSignal: signal },
        );
        volumes.push(...(out.Volumes ?? []));
        token = out.NextToken;
      } while (token);
    } catch (error) {
      if (hasAwsCode(error, 'InvalidVolume.NotFound')) throw new SourceError(`volume not found: ${fail('DescribeVolumes', error).message}`, { plugin: o.id });
      throw fail('DescribeVolumes', error);
    }
    if (volumes.length === 0) throw new SourceError(`EC2 instance ${instanceId} has no EBS volume attached`, { plugin: o.id });
    const targets = volumes.map((v) => {
      const attachment = v.Attachments?.find((a) => instanceId === undefined || a.InstanceId === instanceId);
      return { volumeId: v.VolumeId!, availabilityZone: v.AvailabilityZone, instanceId: attachment?.InstanceId, device: attachment?.Device };
    });
    return targets.sort((a, b) => (a.device ?? a.volumeId).localeCompare(b.device ?? b.volumeId));
  }

  async function waitCompleted({ sdk, client }: { sdk: Ec2Sdk; client: EC2Client }, made: SnapshotRecord[], ctx: SourceContext): Promise<void> {
    await pollUntil(
      async () => {
        let snapshots: Snapshot[];
        try {
          snapshots = (await client.send(new sdk.DescribeSnapshotsCommand({ SnapshotIds: made.map((m) => m.snapshot_id) }), { abortSignal: ctx.signal })).Snapshots ?? [];
        } catch (error) {
          throw fail('DescribeSnapshots', error);
        }
        for (const s of snapshots) {
          const record = made.find((m) => m.snapshot_id === s.SnapshotId);
          if (record) record.state = s.State;
        }
        const failed = snapshots.filter((s) => s.State === 'error');
        if (failed.length > 0) {
          throw new SourceError(
            `snapshot ${failed.map((s) => `${s.SnapshotId} of ${s.VolumeId}${s.StateMessage ? ` (${s.StateMessage})` : ''}`).join(', ')} failed (state "error")`,
            { plugin: o.id },
          );
        }
        const progress = made.map((m) => `${m.snapshot_id} ${snapshots.find((s) => s.SnapshotId === m.snapshot_id)?.Progress ?? '?'}`).join(', ');
        return made.every((m) => m.state === 'completed') ? { status: 'completed', done: true } : { status: `in progress: ${progress}` };
      },
      {
        plugin: o.id,
        what: `snapshot(s) ${made.map((m) => m.snapshot_id).join(', ')} to complete`,
        timeoutSeconds: o.wait_timeout,
        intervalSeconds: o.poll_interval,
        signal: ctx.signal,
        onStatus: (status) => ctx.logger.info(`snapshots: ${status}`),
      },
    );
  }

  /** Deletes our older snapshots of `volumeId` beyond the newest `keep`; returns what was deleted. */
  async function prune({ sdk, client }: { sdk: Ec2Sdk; client: EC2Client }, volumeId: string, keep: number, log: Logger, warnings: string[]): Promise<SnapshotRecord[]> {
    const ours: Snapshot[] = [];
    let token: string | undefined;
    do {
      const out = await client.send(
        new sdk.DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [
            { Name: `tag:${TAG_SOURCE}`, Values: [o.id] },
            { Name: 'volume-id', Values: [volumeId] },
          ],
          NextToken: token,
        }),
      );
      // The filter is the service's; the check is ours: never delete a snapshot we did not tag.
      ours.push(...(out.Snapshots ?? []).filter((s) => s.SnapshotId && s.VolumeId === volumeId && tagOf(s, TAG_SOURCE) === o.id));
      token = out.NextToken;
    } while (token);
    ours.sort((a, b) => (b.StartTime?.getTime() ?? 0) - (a.StartTime?.getTime() ?? 0));
    const deleted: SnapshotRecord[] = [];
    for (const old of ours.slice(keep)) {
      if (old.State === 'pending') {
        log.info(`keeping ${old.SnapshotId} of ${volumeId} beyond retain_snapshots: it is still in progress`);
        continue;
      }
      try {
        await client.send(new sdk.DeleteSnapshotCommand({ SnapshotId: old.SnapshotId! }));
        log.info(`deleted snapshot ${old.SnapshotId} of ${volumeId} (${isoOf(old.StartTime)}), beyond retain_snapshots ${keep}`);
        deleted.push({ volume_id: volumeId, snapshot_id: old.SnapshotId!, start_time: isoOf(old.StartTime), state: 'deleted' });
      } catch (error) {
        const message = `could not delete old snapshot ${old.SnapshotId} of ${volumeId}: ${fail('DeleteSnapshot', error).message}`;
        warnings.push(message);
        log.warn(message);
      }
    }
    return deleted;
  }

  return {
    async check(): Promise<void> {
      const s = await connect();
      await resolveVolumes(s, AbortSignal.timeout(120_000));
    },
    async *open(ctx: SourceContext): AsyncIterable<Artifact> {
      const s = await connect();
      const { sdk, client } = s;
      const log = ctx.logger;
      const volumes = await resolveVolumes(s, ctx.signal);
      if (o.availability_zone) {
        const elsewhere = volumes.filter((v) => v.availabilityZone && v.availabilityZone !== o.availability_zone);
        if (elsewhere.length) log.warn(`volume(s) ${elsewhere.map((v) => `${v.volumeId} (${v.availabilityZone})`).join(', ')} are not in availability_zone ${o.availability_zone}`);
      }
      const started = new Date();
      const stamp = formatTimestamp(started);
      const made: SnapshotRecord[] = [];
      for (const volume of volumes) {
        const name = `${o.id} ${volume.volumeId} ${stamp}`;
        let out: Snapshot;
        try {
          out = await client.send(
            new sdk.CreateSnapshotCommand({
              VolumeId: volume.volumeId,
              Description: `${o.description ?? 'backup-runner'}: source ${o.id} on ${ctx.job.hostname}, volume ${volume.volumeId}${volume.device ? ` (${volume.device} of ${volume.instanceId})` : ''}`,
              TagSpecifications: [
                {
                  ResourceType: 'snapshot',
                  Tags: [
                    { Key: 'Name', Value: name },
                    { Key: TAG_SOURCE, Value: o.id },
                    { Key: TAG_HOST, Value: ctx.job.hostname },
                  ],
                },
              ],
            }),
            { abortSignal: ctx.signal },
          );
        } catch (error) {
          const done = made.length ? ` (already made: ${made.map((m) => m.snapshot_id).join(', ')}; they are valid snapshots and stay)` : '';
          throw new SourceError(`${fail(`CreateSnapshot of ${volume.volumeId}`, error).message}${done}`, { plugin: o.id });
        }
        made.push({
          volume_id: volume.volumeId,
          snapshot_id: out.SnapshotId!,
          start_time: isoOf(out.StartTime),
          state: out.State,
          volume_size_gib: out.VolumeSize,
          instance_id: volume.instanceId,
          device: volume.device,
        });
        log.info(`snapshot ${out.SnapshotId} of ${volume.volumeId} started (${out.State})`);
      }
      if (o.wait) await waitCompleted(s, made, ctx);

      const warnings: string[] = [];
      const deleted: SnapshotRecord[] = [];
      if (o.retain_snapshots !== undefined) {
        for (const volume of volumes) {
          try {
            deleted.push(...(await prune(s, volume.volumeId, o.retain_snapshots, log, warnings)));
          } catch (error) {
            const message = `pruning snapshots of ${volume.volumeId} failed: ${fail('DescribeSnapshots', error).message}`;
            warnings.push(message);
            log.warn(message);
          }
        }
      }
      const record = {
        source: o.id,
        type: 'snapshot',
        hostname: ctx.job.hostname,
        region: awsRegion(conn) ?? null,
        created_at: started.toISOString(),
        waited: o.wait ?? false,
        retain_snapshots: o.retain_snapshots ?? null,
        snapshots: made,
        deleted_snapshots: deleted,
      };
      yield { name: `${o.id}.json`, stream: Readable.from([Buffer.from(`${JSON.stringify(record, null, 2)}\n`)]), done: Promise.resolve(), warnings };
    },
    async cleanup(): Promise<void> {
      session?.client.destroy();
      session = undefined;
    },
  };
}
