/**
 * A local Amazon EC2 (Query API, version 2016-11-15) for the `snapshot` source, written to the
 * EC2 API Reference: CreateSnapshot (VolumeId, Description, TagSpecification.N.ResourceType /
 * .Tag.N.Key|Value), DescribeSnapshots (SnapshotId.N, Owner.N, Filter.N.Name / .Value.N with
 * `tag:<key>`, `volume-id`, `status`; NextToken / MaxResults), DeleteSnapshot, DescribeVolumes
 * (VolumeId.N, Filter `attachment.instance-id`), DescribeInstances (Filter `tag:Name`,
 * `instance-state-name`). Answers in the documented XML (`snapshotSet/item`, `tagSet/item`,
 * `volumeSet/item/attachmentSet/item`, `reservationSet/item/instancesSet/item`) and errors as
 * `<Response><Errors><Error><Code>` (InvalidVolume.NotFound, InvalidSnapshot.NotFound,
 * AuthFailure...).
 *
 * A new snapshot is "pending" for `pendingPolls` DescribeSnapshots of it, then "completed".
 */
import type { ServerResponse } from 'node:http';
import { ec2Error, ec2Result, readQueryRequest, type QueryParams, type XmlNode } from './aws-query.js';
import { startFake, type FakeServer } from './http.js';

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
export const FAKE_ACCOUNT = '123456789012';

export interface FakeEc2Tag {
  Key: string;
  Value: string;
}

export interface FakeVolume {
  id: string;
  sizeGib: number;
  zone: string;
  attachment?: { instanceId: string; device: string };
}

export interface FakeInstance {
  id: string;
  name: string;
  state: string;
}

export interface FakeEbsSnapshot {
  id: string;
  volumeId: string;
  state: string;
  startTime: Date;
  description: string;
  tags: FakeEc2Tag[];
  ownerId: string;
  polls: number;
}

export interface FakeEc2Options {
  accessKeyId?: string;
  /** DescribeSnapshots of a new snapshot answered "pending" before "completed". */
  pendingPolls?: number;
  /** New snapshots go to "error" instead. */
  failSnapshots?: boolean;
  pageSize?: number;
}

export class FakeEc2 {
  readonly volumes = new Map<string, FakeVolume>();
  readonly instances: FakeInstance[] = [];
  readonly snapshots = new Map<string, FakeEbsSnapshot>();
  readonly calls: string[] = [];
  readonly createRequests: Record<string, string>[] = [];
  server!: FakeServer;
  private next = 1;

  constructor(readonly options: FakeEc2Options = {}) {}

  get url(): string {
    return this.server.url;
  }

  addSnapshot(s: Partial<FakeEbsSnapshot> & { volumeId: string; startTime: Date }): FakeEbsSnapshot {
    const full: FakeEbsSnapshot = { id: `snap-${(this.next++).toString(16).padStart(17, '0')}`, state: 'completed', description: '', tags: [], ownerId: FAKE_ACCOUNT, polls: 0, ...s };
    this.snapshots.set(full.id, full);
    return full;
  }

  async start(): Promise<this> {
    this.server = await startFake((req, res) => {
      const request = readQueryRequest(req);
      if ('problem' in request) return ec2Error(res, request.status, request.code, request.problem);
      const p = request.params;
      if (p.get('Version') !== '2016-11-15') return ec2Error(res, 400, 'InvalidParameterValue', `unsupported Version ${p.get('Version')}`);
      if (request.service !== 'ec2') return ec2Error(res, 403, 'IncompleteSignature', `credential scope names ${request.service}`);
      if (this.options.accessKeyId && request.accessKeyId !== this.options.accessKeyId) return ec2Error(res, 401, 'AuthFailure', 'AWS was not able to validate the provided access credentials');
      const action = p.get('Action') ?? '';
      this.calls.push(action);
      switch (action) {
        case 'CreateSnapshot':
          return this.create(p, res);
        case 'DescribeSnapshots':
          return this.describeSnapshots(p, res);
        case 'DeleteSnapshot': {
          const id = p.get('SnapshotId') ?? '';
          if (!this.snapshots.delete(id)) return ec2Error(res, 400, 'InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
          this.calls.push(`deleted ${id}`);
          return ec2Result(res, NS, action, { return: true });
        }
        case 'DescribeVolumes':
          return this.describeVolumes(p, res);
        case 'DescribeInstances':
          return this.describeInstances(p, res);
        default:
          return ec2Error(res, 400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
      }
    });
    return this;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private tagSet(tags: FakeEc2Tag[]): XmlNode {
    return { item: tags.map((t) => ({ key: t.Key, value: t.Value })) };
  }

  private snapshotXml(s: FakeEbsSnapshot): XmlNode {
    const volume = this.volumes.get(s.volumeId);
    return {
      snapshotId: s.id,
      volumeId: s.volumeId,
      status: s.state,
      startTime: s.startTime,
      progress: s.state === 'completed' ? '100%' : s.state === 'pending' ? '42%' : '0%',
      ownerId: s.ownerId,
      volumeSize: volume?.sizeGib ?? 8,
      description: s.description,
      encrypted: false,
      storageTier: 'standard',
      tagSet: s.tags.length ? this.tagSet(s.tags) : undefined,
    };
  }

  private create(p: QueryParams, res: ServerResponse): void {
    const volumeId = p.get('VolumeId') ?? '';
    if (!this.volumes.has(volumeId)) return ec2Error(res, 400, 'InvalidVolume.NotFound', `The volume '${volumeId}' does not exist.`);
    const params: Record<string, string> = {};
    for (const [k, v] of p.all) params[k] = v;
    this.createRequests.push(params);
    const tags: FakeEc2Tag[] = [];
    for (const spec of p.structs('TagSpecification')) {
      if (spec.get('ResourceType') !== 'snapshot') return ec2Error(res, 400, 'InvalidParameterValue', `'${spec.get('ResourceType')}' is not a valid taggable resource type for this operation.`);
      for (const t of spec.structs('Tag')) tags.push({ Key: t.get('Key') ?? '', Value: t.get('Value') ?? '' });
    }
    const snapshot = this.addSnapshot({ volumeId, startTime: new Date(), state: 'pending', description: p.get('Description') ?? '', tags });
    ec2Result(res, NS, 'CreateSnapshot', this.snapshotXml(snapshot));
  }

  private matches(tags: FakeEc2Tag[], filter: QueryParams, fields: Record<string, string | undefined>): boolean {
    const name = filter.get('Name') ?? '';
    const values = filter.list('Value');
    if (name.startsWith('tag:')) return tags.some((t) => t.Key === name.slice(4) && values.includes(t.Value));
    const field = fields[name];
    if (!(name in fields)) throw new Error(`filter ${name} not supported by the fake`);
    return field !== undefined && values.includes(field);
  }

  private page<T>(items: T[], p: QueryParams): { page: T[]; next?: string } {
    const max = p.int('MaxResults') ?? 1000;
    const start = Number(p.get('NextToken') ?? '0');
    const size = Math.min(max, this.options.pageSize ?? max);
    return { page: items.slice(start, start + size), next: start + size < items.length ? String(start + size) : undefined };
  }

  private describeSnapshots(p: QueryParams, res: ServerResponse): void {
    const ids = p.list('SnapshotId');
    const owners = p.list('Owner');
    for (const id of ids) if (!this.snapshots.has(id)) return ec2Error(res, 400, 'InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
    let found = [...this.snapshots.values()].filter((s) => (ids.length === 0 || ids.includes(s.id)) && (owners.length === 0 || owners.some((o) => o === s.ownerId || (o === 'self' && s.ownerId === FAKE_ACCOUNT))));
    for (const f of p.structs('Filter')) found = found.filter((s) => this.matches(s.tags, f, { 'volume-id': s.volumeId, status: s.state, 'snapshot-id': s.id, 'owner-id': s.ownerId }));
    for (const s of found) {
      s.polls++;
      if (s.state === 'pending' && s.polls > (this.options.pendingPolls ?? 1)) s.state = this.options.failSnapshots ? 'error' : 'completed';
    }
    const { page, next } = this.page(found, p);
    ec2Result(res, NS, 'DescribeSnapshots', { snapshotSet: { item: page.map((s) => this.snapshotXml(s)) }, nextToken: next });
  }

  private describeVolumes(p: QueryParams, res: ServerResponse): void {
    const ids = p.list('VolumeId');
    for (const id of ids) if (!this.volumes.has(id)) return ec2Error(res, 400, 'InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
    let found = [...this.volumes.values()].filter((v) => ids.length === 0 || ids.includes(v.id));
    for (const f of p.structs('Filter')) found = found.filter((v) => this.matches([], f, { 'attachment.instance-id': v.attachment?.instanceId, 'volume-id': v.id }));
    const { page, next } = this.page(found, p);
    ec2Result(res, NS, 'DescribeVolumes', {
      volumeSet: {
        item: page.map((v) => ({
          volumeId: v.id,
          size: v.sizeGib,
          availabilityZone: v.zone,
          status: v.attachment ? 'in-use' : 'available',
          createTime: new Date('2023-01-01T00:00:00Z'),
          attachmentSet: v.attachment
            ? { item: [{ volumeId: v.id, instanceId: v.attachment.instanceId, device: v.attachment.device, status: 'attached', attachTime: new Date('2023-01-01T00:00:00Z'), deleteOnTermination: true }] }
            : undefined,
          volumeType: 'gp3',
          encrypted: false,
        })),
      },
      nextToken: next,
    });
  }

  private describeInstances(p: QueryParams, res: ServerResponse): void {
    let found = [...this.instances];
    for (const f of p.structs('Filter')) found = found.filter((i) => this.matches([{ Key: 'Name', Value: i.name }], f, { 'instance-state-name': i.state, 'instance-id': i.id }));
    ec2Result(res, NS, 'DescribeInstances', {
      reservationSet: {
        item: found.map((i) => ({
          reservationId: `r-${i.id.slice(2)}`,
          ownerId: FAKE_ACCOUNT,
          instancesSet: { item: [{ instanceId: i.id, instanceState: { code: i.state === 'running' ? 16 : 80, name: i.state }, tagSet: this.tagSet([{ Key: 'Name', Value: i.name }]) }] },
        })),
      },
    });
  }
}
