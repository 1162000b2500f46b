/**
 * The temporary RDS instance of the `rds` and `rds-pgsql` sources: the newest automated
 * snapshot of the live instance restored under a recognisable, tagged name, waited for,
 * dumped by the caller, then deleted whatever happens.
 *
 * The instance costs money while it exists, so every path deletes it: the dump's end, a dump
 * failure, a wait timeout, SIGINT/SIGTERM (the wait is aborted by the run's signal, and the
 * deletion runs on its own deadline, not on that already-aborted signal). If even that fails
 * (the process was killed), the next run of the same source on the same host finds the
 * instance by its tags and deletes it first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DBInstance, DBSnapshot, RDSClient, Tag } from '@aws-sdk/client-rds';
import { SourceError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { formatTimestamp } from '../../lib/timestamp.js';
import { awsClientConfig, awsSourceError, hasAwsCode, isTransientAwsError, type AwsConnection } from './client.js';
import { TAG_HOST, TAG_JOB, TAG_SOURCE, TAG_TEMPORARY } from './tags.js';
import { abortReason, pollUntil } from './wait.js';

type RdsSdk = typeof import('@aws-sdk/client-rds');

export const TEMPORARY_PREFIX = 'backup-runner-tmp-';

/** After SIGINT/SIGTERM systemd allows 90 s by default before SIGKILL: keep the cleanup within that. */
const INTERRUPTED_DELETE_SECONDS = 60;
/** RDS may not list an instance for a little while after RestoreDBInstanceFromDBSnapshot returned. */
const NOT_YET_VISIBLE_SECONDS = 120;
/** Statuses from which the instance will not become available by itself. */
const FAILED_STATUSES = new Set([
  'failed',
  'incompatible-restore',
  'incompatible-network',
  'incompatible-parameters',
  'incompatible-option-group',
  'inaccessible-encryption-credentials',
  'inaccessible-encryption-credentials-recoverable',
  'restore-error',
  'storage-full',
  'deleting',
  'stopped',
  'stopping',
]);

/**
 * `backup-runner-tmp-<source id>-<YYYYmmddHHMMSS>`: a valid RDS identifier (letters, digits,
 * hyphens; a letter first; no double or trailing hyphen; at most 63), the id shortened if needed.
 */
export function temporaryInstanceName(sourceId: string, now: Date): string {
  const stamp = formatTimestamp(now);
  const room = 63 - TEMPORARY_PREFIX.length - 1 - stamp.length;
  const part = sourceId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, room)
    .replace(/-+$/, '');
  return part ? `${TEMPORARY_PREFIX}${part}-${stamp}` : `${TEMPORARY_PREFIX}${stamp}`;
}

export interface RdsInstanceSettings extends AwsConnection {
  /** The source id. */
  id: string;
  instancename: string;
  security_group?: string[];
  instance_class: string;
  subnet_group?: string;
  publicly_accessible?: boolean;
  availability_zone?: string;
  wait_timeout: number;
  poll_interval: number;
  delete_timeout: number;
  wait_for_deletion?: boolean;
}

export interface RunIdentity {
  hostname: string;
  job: string;
}

export interface RdsEndpoint {
  address: string;
  port: number;
}

function tagValue(tags: readonly Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

export class RdsTemporaryInstances {
  /** The instance this run restored and has not deleted yet. */
  private pendingName?: string;
  /** Names this object asked RDS to delete (tests, log). */
  readonly deleted: string[] = [];

  private constructor(
    private readonly sdk: RdsSdk,
    readonly client: RDSClient,
    private readonly settings: RdsInstanceSettings,
    private readonly identity: RunIdentity,
    private readonly log: Logger,
  ) {}

  static async connect(settings: RdsInstanceSettings, identity: RunIdentity, log: Logger): Promise<RdsTemporaryInstances> {
    const sdk = await import('@aws-sdk/client-rds');
    const client = new sdk.RDSClient(awsClientConfig(settings));
    return new RdsTemporaryInstances(sdk, client, settings, identity, log);
  }

  get pending(): string | undefined {
    return this.pendingName;
  }

  private fail(doing: string, error: unknown): SourceError {
    return awsSourceError(this.settings.id, doing, error, this.settings, 'RDS');
  }

  /** Tags this run puts on its instance; a leftover is ours when it carries the same ones. */
  private ownTags(): Tag[] {
    return [
      { Key: TAG_TEMPORARY, Value: 'true' },
      { Key: TAG_SOURCE, Value: this.settings.id },
      { Key: TAG_HOST, Value: this.identity.hostname },
      { Key: TAG_JOB, Value: this.identity.job },
    ];
  }

  private isOurs(tags: readonly Tag[] | undefined): boolean {
    const job = tagValue(tags, TAG_JOB);
    return (
      tagValue(tags, TAG_TEMPORARY) === 'true' &&
      tagValue(tags, TAG_SOURCE) === this.settings.id &&
      tagValue(tags, TAG_HOST) === this.identity.hostname &&
      (job === undefined || job === this.identity.job)
    );
  }

  private async tagsOf(instance: DBInstance, signal?: AbortSignal): Promise<Tag[]> {
    if (instance.TagList) return instance.TagList;
    if (!instance.DBInstanceArn) return [];
    const out = await this.client.send(new this.sdk.ListTagsForResourceCommand({ ResourceName: instance.DBInstanceArn }), { abortSignal: signal });
    return out.TagList ?? [];
  }

  /** The live instance (for --dry-run): its engine and status. */
  async describeSource(signal?: AbortSignal): Promise<DBInstance> {
    try {
      const out = await this.client.send(new this.sdk.DescribeDBInstancesCommand({ DBInstanceIdentifier: this.settings.instancename }), { abortSignal: signal });
      const found = out.DBInstances?.[0];
      if (!found) throw new SourceError(`RDS instance ${this.settings.instancename} not found`, { plugin: this.settings.id });
      return found;
    } catch (error) {
      if (hasAwsCode(error, 'DBInstanceNotFound')) {
        throw new SourceError(`RDS instance ${this.settings.instancename} not found in ${this.settings.region ?? 'the default region'}: check instancename and region`, {
          plugin: this.settings.id,
        });
      }
      throw this.fail(`DescribeDBInstances ${this.settings.instancename}`, error);
    }
  }

  /** The newest available automated snapshot of the live instance. */
  async newestAutomatedSnapshot(signal?: AbortSignal): Promise<DBSnapshot> {
    const snapshots: DBSnapshot[] = [];
    let marker: string | undefined;
    try {
      do {
        const out = await this.client.send(
          new this.sdk.DescribeDBSnapshotsCommand({ DBInstanceIdentifier: this.settings.instancename, SnapshotType: 'automated', Marker: marker, MaxRecords: 100 }),
          { abortSignal: signal },
        );
        snapshots.push(...(out.DBSnapshots ?? []));
        marker = out.Marker;
      } while (marker);
    } catch (error) {
      throw this.fail(`DescribeDBSnapshots of ${this.settings.instancename}`, error);
    }
    const usable = snapshots
      .filter((s) => s.Status === 'available' && s.DBSnapshotIdentifier && s.SnapshotCreateTime)
      .sort((a, b) => b.SnapshotCreateTime!.getTime() - a.SnapshotCreateTime!.getTime());
    const newest = usable[0];
    if (!newest) {
      throw new SourceError(
        `no available automated snapshot of RDS instance ${this.settings.instancename} (${snapshots.length} automated snapshot(s) listed): enable automated backups (backup retention of 1 day or more); Aurora clusters have cluster snapshots, which this source does not restore`,
        { plugin: this.settings.id },
      );
    }
    return newest;
  }

  /**
   * Deletes temporary instances that earlier runs of this source on this host left behind
   * (the process was killed before its cleanup). Only instances carrying all our tags.
   */
  async removeLeftovers(signal?: AbortSignal): Promise<string[]> {
    const removed: string[] = [];
    let marker: string | undefined;
    const candidates: DBInstance[] = [];
    try {
      do {
        const out = await this.client.send(new this.sdk.DescribeDBInstancesCommand({ Marker: marker, MaxRecords: 100 }), { abortSignal: signal });
        candidates.push(...(out.DBInstances ?? []).filter((i) => i.DBInstanceIdentifier?.startsWith(TEMPORARY_PREFIX)));
        marker = out.Marker;
      } while (marker);
    } catch (error) {
      throw this.fail('DescribeDBInstances (looking for temporary instances left by earlier runs)', error);
    }
    for (const instance of candidates) {
      const name = instance.DBInstanceIdentifier!;
      let tags: Tag[];
      try {
        tags = await this.tagsOf(instance, signal);
      } catch (error) {
        this.log.warn(`cannot read the tags of ${name} (${this.fail('ListTagsForResource', error).message}); leaving it alone`);
        continue;
      }
      if (!this.isOurs(tags)) continue;
      if (instance.DBInstanceStatus === 'deleting') {
        this.log.info(`temporary instance ${name} left by an earlier run is already being deleted`);
        continue;
      }
      const created = instance.InstanceCreateTime ? ` (created ${instance.InstanceCreateTime.toISOString()})` : '';
      this.log.warn(`deleting temporary RDS instance ${name}${created}, left behind by an earlier run of source ${this.settings.id} that did not finish`);
      try {
        if (await this.deleteOnce(name, signal)) {
          removed.push(name);
          this.deleted.push(name);
        }
      } catch (error) {
        this.log.error(`could not delete leftover temporary instance ${name}: ${this.fail('DeleteDBInstance', error).message}; delete it in the RDS console`);
      }
    }
    return removed;
  }

  /** Restores `snapshot` to a new temporary instance; remembered as pending until deleted. */
  async restore(snapshot: DBSnapshot, now: Date, signal?: AbortSignal): Promise<string> {
    const name = temporaryInstanceName(this.settings.id, now);
    const s = this.settings;
    this.log.info(
      `restoring snapshot ${snapshot.DBSnapshotIdentifier} of ${s.instancename} (taken ${snapshot.SnapshotCreateTime?.toISOString()}) to temporary instance ${name} (${s.instance_class})`,
    );
    try {
      await this.client.send(
        new this.sdk.RestoreDBInstanceFromDBSnapshotCommand({
          DBInstanceIdentifier: name,
          DBSnapshotIdentifier: snapshot.DBSnapshotIdentifier,
          DBInstanceClass: s.instance_class,
          VpcSecurityGroupIds: s.security_group,
          DBSubnetGroupName: s.subnet_group,
          PubliclyAccessible: s.publicly_accessible,
          AvailabilityZone: s.availability_zone,
          MultiAZ: false,
          // Nothing about the temporary copy is worth keeping, and nothing may stop its deletion.
          BackupRetentionPeriod: 0,
          DeletionProtection: false,
          CopyTagsToSnapshot: false,
          AutoMinorVersionUpgrade: false,
          Tags: this.ownTags(),
        }),
        { abortSignal: signal },
      );
      this.pendingName = name;
      return name;
    } catch (error) {
      // The request may have reached RDS (a lost answer, an abort, an SDK retry that then saw
      // "already exists"): if an instance of that name carries our tags, it is ours to delete.
      await this.adoptIfOurs(name);
      throw this.fail(`RestoreDBInstanceFromDBSnapshot ${name}`, error);
    }
  }

  private async adoptIfOurs(name: string): Promise<void> {
    try {
      const out = await this.client.send(new this.sdk.DescribeDBInstancesCommand({ DBInstanceIdentifier: name }), { abortSignal: AbortSignal.timeout(30_000) });
      const instance = out.DBInstances?.[0];
      if (instance && this.isOurs(await this.tagsOf(instance, AbortSignal.timeout(30_000)))) this.pendingName = name;
    } catch {
      // Not there (or unknown): the next run's leftover check covers the unknown case.
    }
  }

  /** Polls until the pending instance is available; returns its endpoint. */
  async waitAvailable(signal: AbortSignal): Promise<RdsEndpoint> {
    const name = this.pendingName;
    if (!name) throw new SourceError('no temporary instance to wait for', { plugin: this.settings.id });
    const started = Date.now();
    const endpoint = await pollUntil<RdsEndpoint>(
      async () => {
        let instance: DBInstance | undefined;
        try {
          const out = await this.client.send(new this.sdk.DescribeDBInstancesCommand({ DBInstanceIdentifier: name }), { abortSignal: signal });
          instance = out.DBInstances?.[0];
        } catch (error) {
          if (signal.aborted) throw abortReason(signal);
          if (hasAwsCode(error, 'DBInstanceNotFound') && Date.now() - started < NOT_YET_VISIBLE_SECONDS * 1000) return { status: 'not listed yet' };
          if (hasAwsCode(error, 'DBInstanceNotFound')) {
            this.pendingName = undefined;
            throw new SourceError(`temporary instance ${name} disappeared while restoring (deleted by someone else?)`, { plugin: this.settings.id });
          }
          if (isTransientAwsError(error)) return { status: `unknown (${this.fail('DescribeDBInstances', error).message})` };
          throw this.fail(`DescribeDBInstances ${name}`, error);
        }
        const status = instance?.DBInstanceStatus ?? 'unknown';
        if (status === 'available') {
          const address = instance?.Endpoint?.Address;
          const port = instance?.Endpoint?.Port;
          if (!address || !port) return { status: 'available, endpoint not published yet' };
          return { status, done: { address, port } };
        }
        if (FAILED_STATUSES.has(status)) {
          throw new SourceError(`temporary instance ${name} went to status "${status}" instead of becoming available; see the RDS events of the instance`, { plugin: this.settings.id });
        }
        return { status };
      },
      {
        plugin: this.settings.id,
        what: `temporary instance ${name} to become available`,
        timeoutSeconds: this.settings.wait_timeout,
        intervalSeconds: this.settings.poll_interval,
        signal,
        onStatus: (status) => this.log.info(`temporary instance ${name}: ${status}`),
      },
    );
    this.log.info(`temporary instance ${name} available at ${endpoint.address}:${endpoint.port} after ${Math.round((Date.now() - started) / 1000)} s`);
    return endpoint;
  }

  /**
   * One DeleteDBInstance. True when RDS accepted it; false when the instance is gone or
   * already being deleted. Throws what RDS answered otherwise.
   */
  private async deleteOnce(name: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.client.send(new this.sdk.DeleteDBInstanceCommand({ DBInstanceIdentifier: name, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }), { abortSignal: signal });
      return true;
    } catch (error) {
      if (hasAwsCode(error, 'DBInstanceNotFound')) return false;
      if (hasAwsCode(error, 'InvalidDBInstanceState') && (await this.statusOf(name, signal)) === 'deleting') return false;
      throw error;
    }
  }

  private async statusOf(name: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
      const out = await this.client.send(new this.sdk.DescribeDBInstancesCommand({ DBInstanceIdentifier: name }), { abortSignal: signal });
      return out.DBInstances?.[0]?.DBInstanceStatus;
    } catch (error) {
      if (hasAwsCode(error, 'DBInstanceNotFound')) return 'gone';
      return undefined;
    }
  }

  /**
   * Deletes the pending temporary instance, retrying while RDS refuses for now (an instance
   * still being created) until `delete_timeout` (60 s when the run was interrupted). Throws a
   * SourceError naming the instance when it could not be deleted.
   */
  async removePending(interrupted: boolean): Promise<void> {
    const name = this.pendingName;
    if (!name) return;
    const limit = interrupted ? Math.min(this.settings.delete_timeout, INTERRUPTED_DELETE_SECONDS) : this.settings.delete_timeout;
    const deadline = Date.now() + limit * 1000;
    const interval = Math.max(1, Math.min(this.settings.poll_interval, 15)) * 1000;
    this.log.info(`deleting temporary instance ${name}`);
    for (;;) {
      try {
        const accepted = await this.deleteOnce(name, AbortSignal.timeout(Math.max(5_000, deadline - Date.now())));
        this.pendingName = undefined;
        if (accepted) this.deleted.push(name);
        break;
      } catch (error) {
        const retry = hasAwsCode(error, 'InvalidDBInstanceState') || isTransientAwsError(error);
        if (!retry || Date.now() + interval > deadline) {
          throw new SourceError(
            `could not delete temporary RDS instance ${name}, which costs money while it exists: ${this.fail('DeleteDBInstance', error).message}. Delete it yourself (aws rds delete-db-instance --db-instance-identifier ${name} --skip-final-snapshot --delete-automated-backups), or the next run of this source will`,
            { plugin: this.settings.id },
          );
        }
        this.log.info(`RDS refuses to delete ${name} for now (${this.fail('DeleteDBInstance', error).message}); retrying`);
        await sleep(interval);
      }
    }
    if (this.settings.wait_for_deletion && !interrupted) await this.waitGone(name, deadline);
  }

  private async waitGone(name: string, deadline: number): Promise<void> {
    const seconds = Math.max(1, Math.round((deadline - Date.now()) / 1000));
    try {
      await pollUntil(
        async () => {
          const status = await this.statusOf(name, AbortSignal.timeout(60_000));
          return status === 'gone' ? { status, done: true } : { status: status ?? 'unknown' };
        },
        { plugin: this.settings.id, what: `temporary instance ${name} to be deleted`, timeoutSeconds: seconds, intervalSeconds: this.settings.poll_interval, signal: AbortSignal.timeout(seconds * 1000 + 60_000) },
      );
      this.log.info(`temporary instance ${name} is deleted`);
    } catch (error) {
      this.log.warn(`temporary instance ${name} was not reported deleted within ${seconds} s (${error instanceof Error ? error.message : String(error)}); RDS goes on deleting it`);
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}
