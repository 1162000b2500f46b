/**
 * A local Amazon RDS (Query API, version 2014-10-31) for the rds / rds-pgsql sources, written
 * to the RDS API Reference: DescribeDBSnapshots, DescribeDBInstances, ListTagsForResource,
 * RestoreDBInstanceFromDBSnapshot and DeleteDBInstance, with their documented parameters
 * (`Filters.Filter.N`, `Tags.Tag.N.Key`, `VpcSecurityGroupIds.VpcSecurityGroupId.N`, `Marker`,
 * `MaxRecords` 20-100), result elements (`DBSnapshots/DBSnapshot`, `DBInstances/DBInstance`,
 * `TagList/Tag`, `Endpoint/Address|Port` only once available) and error codes
 * (DBInstanceNotFound 404, DBSnapshotNotFound 404, DBInstanceAlreadyExists 400,
 * InvalidDBInstanceState 400, InvalidParameterValue 400, InvalidClientTokenId 403).
 *
 * A restored instance reports the endpoint the test gives (the local MariaDB or PostgreSQL),
 * so the dump really runs. It stays "creating" for `creatingPolls` DescribeDBInstances of it
 * (or for ever with `stayCreating`), then is "available"; a deleted one is "deleting" for one
 * describe, then gone.
 */
import { queryError, queryResult, readQueryRequest, type XmlNode } from './aws-query.js';
import { startFake, type FakeServer } from './http.js';

const NS = 'http://rds.amazonaws.com/doc/2014-10-31/';
const ACCOUNT = '123456789012';

export interface FakeTag {
  Key: string;
  Value: string;
}

export interface FakeDbInstance {
  id: string;
  engine: string;
  status: string;
  instanceClass: string;
  createdAt: Date;
  tags: FakeTag[];
  endpoint: { address: string; port: number };
  securityGroups: string[];
  subnetGroup?: string;
  publiclyAccessible: boolean;
  restoredFrom?: string;
  /** Every parameter of the RestoreDBInstanceFromDBSnapshot call that made it. */
  restoreParams?: Record<string, string>;
  describes: number;
  deleteParams?: Record<string, string>;
}

export interface FakeDbSnapshot {
  id: string;
  instanceId: string;
  type: 'automated' | 'manual';
  status: string;
  createdAt: Date;
  engine: string;
}

export interface FakeRdsOptions {
  region?: string;
  accessKeyId?: string;
  /** Endpoint reported by restored instances once available. */
  endpoint: { address: string; port: number };
  engine?: string;
  /** DescribeDBInstances calls of a restored instance answered "creating" before "available". */
  creatingPolls?: number;
  /** Restored instances never become available (wait timeout tests). */
  stayCreating?: boolean;
  /** DeleteDBInstance answers InvalidDBInstanceState this many times for a creating instance. */
  refuseDeleteWhileCreating?: number;
  /** Leave TagList out of DBInstance (older API versions): the client must call ListTagsForResource. */
  omitTagList?: boolean;
  /** Page size for describes (smaller than MaxRecords to exercise Marker paging). */
  pageSize?: number;
}

export class FakeRds {
  readonly instances = new Map<string, FakeDbInstance>();
  readonly snapshots: FakeDbSnapshot[] = [];
  /** Every action called, in order: "RestoreDBInstanceFromDBSnapshot backup-runner-tmp-...". */
  readonly calls: string[] = [];
  /** Parameters of every RestoreDBInstanceFromDBSnapshot and DeleteDBInstance request, in order. */
  readonly restoreRequests: Record<string, string>[] = [];
  readonly deleteRequests: Record<string, string>[] = [];
  server!: FakeServer;
  private refusedDeletes = 0;

  constructor(readonly options: FakeRdsOptions) {}

  get url(): string {
    return this.server.url;
  }

  arn(id: string): string {
    return `arn:aws:rds:${this.options.region ?? 'eu-west-1'}:${ACCOUNT}:db:${id}`;
  }

  addInstance(instance: Partial<FakeDbInstance> & { id: string }): FakeDbInstance {
    const full: FakeDbInstance = {
      engine: this.options.engine ?? 'mysql',
      status: 'available',
      instanceClass: 'db.m5.large',
      createdAt: new Date(Date.now() - 86_400_000),
      tags: [],
      endpoint: { address: `${instance.id}.abcdefghij.eu-west-1.rds.amazonaws.com`, port: 3306 },
      securityGroups: ['sg-live'],
      publiclyAccessible: false,
      describes: 0,
      ...instance,
    };
    this.instances.set(full.id, full);
    return full;
  }

  addSnapshot(snapshot: Partial<FakeDbSnapshot> & { id: string; instanceId: string; createdAt: Date }): void {
    this.snapshots.push({ type: 'automated', status: 'available', engine: this.options.engine ?? 'mysql', ...snapshot });
  }

  /** Instances carrying backup-runner:temporary=true that are not deleted. */
  temporaryInstances(): FakeDbInstance[] {
    return [...this.instances.values()].filter((i) => i.tags.some((t) => t.Key === 'backup-runner:temporary' && t.Value === 'true') && i.status !== 'deleting');
  }

  deletedNames(): string[] {
    return this.calls.filter((c) => c.startsWith('DeleteDBInstance ')).map((c) => c.slice('DeleteDBInstance '.length));
  }

  async start(): Promise<this> {
    this.server = await startFake((req, res) => {
      const request = readQueryRequest(req);
      if ('problem' in request) return queryError(res, NS, request.status, request.code, request.problem);
      const p = request.params;
      const action = p.get('Action') ?? '';
      if (p.get('Version') !== '2014-10-31') return queryError(res, NS, 400, 'InvalidParameterValue', `unsupported Version ${p.get('Version')}`);
      if (request.service !== 'rds') return queryError(res, NS, 403, 'IncompleteSignature', `credential scope names service ${request.service}, not rds`);
      if (this.options.accessKeyId && request.accessKeyId !== this.options.accessKeyId) {
        return queryError(res, NS, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
      }
      const id = p.get('DBInstanceIdentifier');
      this.calls.push(`${action}${id ? ` ${id}` : ''}`);
      switch (action) {
        case 'DescribeDBSnapshots':
          return this.describeSnapshots(p, res);
        case 'DescribeDBInstances':
          return this.describeInstances(p, res);
        case 'ListTagsForResource': {
          const arn = p.get('ResourceName') ?? '';
          const instance = [...this.instances.values()].find((i) => this.arn(i.id) === arn);
          if (!instance) return queryError(res, NS, 404, 'DBInstanceNotFound', `DBInstance ${arn} not found.`);
          return queryResult(res, NS, action, { TagList: { Tag: instance.tags.map((t) => ({ Key: t.Key, Value: t.Value })) } });
        }
        case 'RestoreDBInstanceFromDBSnapshot':
          return this.restore(p, res);
        case 'DeleteDBInstance':
          return this.delete(p, res);
        default:
          return queryError(res, NS, 400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
      }
    });
    return this;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private page<T>(items: T[], p: import('./aws-query.js').QueryParams): { page: T[]; marker?: string } {
    const max = p.int('MaxRecords') ?? 100;
    const start = Number(p.get('Marker') ?? '0');
    const size = Math.min(max, this.options.pageSize ?? max);
    const page = items.slice(start, start + size);
    return { page, marker: start + size < items.length ? String(start + size) : undefined };
  }

  private describeSnapshots(p: import('./aws-query.js').QueryParams, res: import('node:http').ServerResponse): void {
    const max = p.int('MaxRecords');
    if (max !== undefined && (max < 20 || max > 100)) return queryError(res, NS, 400, 'InvalidParameterValue', 'MaxRecords must be between 20 and 100');
    const instanceId = p.get('DBInstanceIdentifier');
    const type = p.get('SnapshotType');
    const filters = p.structs('Filters.Filter');
    let found = this.snapshots.filter((s) => (!instanceId || s.instanceId === instanceId) && (!type || s.type === type));
    for (const f of filters) {
      const values = f.list('Values.Value');
      if (f.get('Name') === 'db-instance-id') found = found.filter((s) => values.includes(s.instanceId));
      if (f.get('Name') === 'snapshot-type') found = found.filter((s) => values.includes(s.type));
    }
    const { page, marker } = this.page(found, p);
    queryResult(res, NS, 'DescribeDBSnapshots', {
      Marker: marker,
      DBSnapshots: {
        DBSnapshot: page.map((s) => ({
          DBSnapshotIdentifier: s.id,
          DBInstanceIdentifier: s.instanceId,
          SnapshotCreateTime: s.createdAt,
          Engine: s.engine,
          Status: s.status,
          SnapshotType: s.type,
          Port: 3306,
          AvailabilityZone: 'eu-west-1a',
          DBSnapshotArn: `arn:aws:rds:eu-west-1:${ACCOUNT}:snapshot:${s.id}`,
        })),
      },
    });
  }

  private instanceXml(i: FakeDbInstance): XmlNode {
    return {
      DBInstanceIdentifier: i.id,
      DBInstanceClass: i.instanceClass,
      Engine: i.engine,
      DBInstanceStatus: i.status,
      // RDS publishes the endpoint once the instance can be reached.
      Endpoint: i.status === 'available' || i.status === 'backing-up' ? { Address: i.endpoint.address, Port: i.endpoint.port, HostedZoneId: 'Z29XKXDKYMONMX' } : undefined,
      InstanceCreateTime: i.createdAt,
      VpcSecurityGroups: { VpcSecurityGroupMembership: i.securityGroups.map((g) => ({ VpcSecurityGroupId: g, Status: 'active' })) },
      DBSubnetGroup: i.subnetGroup ? { DBSubnetGroupName: i.subnetGroup, SubnetGroupStatus: 'Complete' } : undefined,
      PubliclyAccessible: i.publiclyAccessible,
      MultiAZ: false,
      DBInstanceArn: this.arn(i.id),
      TagList: this.options.omitTagList ? undefined : { Tag: i.tags.map((t) => ({ Key: t.Key, Value: t.Value })) },
      DeletionProtection: false,
    };
  }

  private describeInstances(p: import('./aws-query.js').QueryParams, res: import('node:http').ServerResponse): void {
    const id = p.get('DBInstanceIdentifier');
    const max = p.int('MaxRecords');
    if (max !== undefined && (max < 20 || max > 100)) return queryError(res, NS, 400, 'InvalidParameterValue', 'MaxRecords must be between 20 and 100');
    if (id !== undefined) {
      const instance = this.instances.get(id);
      if (!instance) return queryError(res, NS, 404, 'DBInstanceNotFound', `DBInstance ${id} not found.`);
      this.advance(instance);
      if (!this.instances.has(id)) return queryError(res, NS, 404, 'DBInstanceNotFound', `DBInstance ${id} not found.`);
      return queryResult(res, NS, 'DescribeDBInstances', { DBInstances: { DBInstance: [this.instanceXml(instance)] } });
    }
    const all = [...this.instances.values()];
    for (const i of all) this.advance(i);
    const { page, marker } = this.page([...this.instances.values()], p);
    queryResult(res, NS, 'DescribeDBInstances', { Marker: marker, DBInstances: { DBInstance: page.map((i) => this.instanceXml(i)) } });
  }

  /** Time passes one describe at a time. */
  private advance(instance: FakeDbInstance): void {
    instance.describes++;
    if (instance.status === 'deleting') {
      if (instance.describes > 1) this.instances.delete(instance.id);
      return;
    }
    if (instance.status === 'creating' && !this.options.stayCreating && instance.describes > (this.options.creatingPolls ?? 1)) instance.status = 'available';
  }

  private restore(p: import('./aws-query.js').QueryParams, res: import('node:http').ServerResponse): void {
    const id = p.get('DBInstanceIdentifier') ?? '';
    const snapshotId = p.get('DBSnapshotIdentifier') ?? '';
    if (!/^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}$/.test(id) || id.endsWith('-')) {
      return queryError(res, NS, 400, 'InvalidParameterValue', 'The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.');
    }
    if (this.instances.has(id.toLowerCase())) return queryError(res, NS, 400, 'DBInstanceAlreadyExists', 'DB instance already exists');
    const snapshot = this.snapshots.find((s) => s.id === snapshotId);
    if (!snapshot) return queryError(res, NS, 404, 'DBSnapshotNotFound', `DBSnapshot ${snapshotId} not found.`);
    const params: Record<string, string> = {};
    for (const [k, v] of p.all) params[k] = v;
    this.restoreRequests.push(params);
    const instance = this.addInstance({
      id: id.toLowerCase(),
      engine: snapshot.engine,
      status: 'creating',
      instanceClass: p.get('DBInstanceClass') ?? 'db.m5.large',
      createdAt: new Date(),
      tags: p.structs('Tags.Tag').map((t) => ({ Key: t.get('Key') ?? '', Value: t.get('Value') ?? '' })),
      endpoint: this.options.endpoint,
      securityGroups: p.list('VpcSecurityGroupIds.VpcSecurityGroupId'),
      subnetGroup: p.get('DBSubnetGroupName'),
      publiclyAccessible: p.bool('PubliclyAccessible') ?? false,
      restoredFrom: snapshotId,
      restoreParams: params,
      describes: 0,
    });
    queryResult(res, NS, 'RestoreDBInstanceFromDBSnapshot', { DBInstance: this.instanceXml(instance) });
  }

  private delete(p: import('./aws-query.js').QueryParams, res: import('node:http').ServerResponse): void {
    const id = p.get('DBInstanceIdentifier') ?? '';
    const instance = this.instances.get(id);
    if (!instance) return queryError(res, NS, 404, 'DBInstanceNotFound', `DBInstance ${id} not found.`);
    if (instance.status === 'deleting') return queryError(res, NS, 400, 'InvalidDBInstanceState', `Instance ${id} is already being deleted.`);
    const skip = p.bool('SkipFinalSnapshot') ?? false;
    if (!skip && !p.get('FinalDBSnapshotIdentifier')) {
      return queryError(res, NS, 400, 'InvalidParameterCombination', 'FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
    }
    if (instance.status === 'creating' && this.refusedDeletes < (this.options.refuseDeleteWhileCreating ?? 0)) {
      this.refusedDeletes++;
      return queryError(res, NS, 400, 'InvalidDBInstanceState', `Instance ${id} is currently creating - a final snapshot cannot be taken.`);
    }
    const params: Record<string, string> = {};
    for (const [k, v] of p.all) params[k] = v;
    this.deleteRequests.push(params);
    instance.deleteParams = params;
    instance.status = 'deleting';
    instance.describes = 0;
    queryResult(res, NS, 'DeleteDBInstance', { DBInstance: this.instanceXml(instance) });
  }
}
