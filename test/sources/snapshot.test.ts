/**
 * `snapshot` (EBS) against a local fake of the EC2 Query API (test/support/fakes/ec2.ts):
 * volumes by id or by instance, tags, waiting, retention that keeps exactly retain_snapshots
 * of ours per volume and never touches snapshots we did not tag, and the JSON record stored
 * through the CLI (decrypted with gpg).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, afterAll, describe, expect, it, vi } from 'vitest';
import { snapshotSource } from '../../src/sources/snapshot/index.js';
import { regionOfZone } from '../../src/sources/snapshot/schema.js';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { capturingLogger, cloudContext, makeSource, problemsOf } from '../support/cloud-source.js';
import { FakeEc2, type FakeEbsSnapshot } from '../support/fakes/ec2.js';
import { gpgDecrypt, makeGpgHome, type GpgHome } from '../support/gpg.js';
import { writeJob } from '../support/jobs.js';
import { collectArtifacts } from '../support/sql.js';
import { makeTempDir } from '../support/tmp.js';
import { useRealClock, useVirtualClock } from '../support/virtual-clock.js';

// The source's waits for snapshots to complete (poll_interval, wait_timeout) run on a virtual clock.
vi.mock(import('node:timers/promises'), async (original) => (await import('../support/virtual-clock.js')).virtualTimers(await original()));

const CREDENTIALS = { aws_access_key_id: 'AKIAFAKEEC2000000001', aws_secret_access_key: 'fake-ec2-secret' };
const OURS = (source = 'db') => [{ Key: 'backup-runner:source', Value: source }];

let tmp: { path: string; remove: () => Promise<void> };
let fake: FakeEc2;

beforeAll(async () => {
  tmp = await makeTempDir('br-snapshot-');
});
afterAll(async () => {
  await tmp?.remove();
});
afterEach(async () => {
  await fake?.close();
});

async function startFake(options: ConstructorParameters<typeof FakeEc2>[0] = {}): Promise<FakeEc2> {
  fake = await new FakeEc2({ accessKeyId: CREDENTIALS.aws_access_key_id, pageSize: 3, ...options }).start();
  fake.volumes.set('vol-0aaa', { id: 'vol-0aaa', sizeGib: 8, zone: 'eu-west-1a', attachment: { instanceId: 'i-0web', device: '/dev/xvda' } });
  fake.volumes.set('vol-0bbb', { id: 'vol-0bbb', sizeGib: 100, zone: 'eu-west-1a', attachment: { instanceId: 'i-0web', device: '/dev/xvdf' } });
  fake.volumes.set('vol-0ccc', { id: 'vol-0ccc', sizeGib: 20, zone: 'eu-west-1b', attachment: { instanceId: 'i-0db', device: '/dev/xvda' } });
  fake.instances.push({ id: 'i-0web', name: 'web1', state: 'running' }, { id: 'i-0db', name: 'maindb1', state: 'running' }, { id: 'i-0old', name: 'maindb1', state: 'terminated' });
  return fake;
}

function options(extra: Record<string, unknown>): Record<string, unknown> {
  return { region: 'eu-west-1', endpoint_url: fake.url, credentials: CREDENTIALS, poll_interval: 1, ...extra };
}

async function run(extra: Record<string, unknown>) {
  const { logger, lines } = capturingLogger();
  const source = await makeSource(snapshotSource, options(extra), logger);
  const ctx = cloudContext(tmp.path, logger);
  try {
    const artifacts = await collectArtifacts(source.open(ctx));
    return { artifacts, lines, record: JSON.parse(artifacts[0]!.data.toString('utf8')) as Record<string, unknown> & { snapshots: Record<string, unknown>[]; deleted_snapshots: Record<string, unknown>[] } };
  } finally {
    await source.cleanup?.(ctx);
  }
}

function snapshotsOf(volumeId: string): FakeEbsSnapshot[] {
  return [...fake.snapshots.values()].filter((s) => s.volumeId === volumeId);
}

describe('snapshot options', () => {
  it('accepts the original README example and table keys, flat or nested credentials', () => {
    expect(
      problemsOf(snapshotSource, { name: 'Live Company Data', instancename: 'maindb1', credentials: { aws_access_key_id: 'YOUR_ACCESS_KEY_ID', aws_secret_access_key: 'YOUR_SECRET_ACCESS_KEY' } }),
    ).toEqual([]);
    expect(problemsOf(snapshotSource, { volume_id: 'vol-1', availability_zone: 'eu-west-1a', aws_access_key_id: 'AK', aws_secret_access_key: 'SK' })).toEqual([]);
    expect(problemsOf(snapshotSource, { availability_zone: 'eu-west-1a' })).toEqual([expect.stringMatching(/^volume_id: give exactly one of/)]);
    expect(problemsOf(snapshotSource, { volume_id: 'vol-1', instance_id: 'i-1' })).toEqual([expect.stringMatching(/have volume_id, instance_id/)]);
    expect(problemsOf(snapshotSource, { volume_id: 'vol-1', aws_access_key_id: 'AK' })).toEqual(['aws_secret_access_key: required with aws_access_key_id']);
    expect(problemsOf(snapshotSource, { volume_id: 'vol-1', aws_access_key_id: 'AK', aws_secret_access_key: 'SK', credentials: CREDENTIALS })).toEqual([expect.stringMatching(/^credentials: give credentials or the flat/)]);
    expect(regionOfZone('eu-west-1a')).toBe('eu-west-1');
    expect(regionOfZone('us-gov-west-1b')).toBe('us-gov-west-1');
    expect(regionOfZone('us-west-2-lax-1a')).toBe('us-west-2');
  });
});

describe('snapshot against a fake EC2', () => {
  beforeEach(useVirtualClock);
  afterEach(useRealClock);

  it('snapshots listed volumes with our tags, waits for completion, and records them', async () => {
    await startFake({ pendingPolls: 2 });
    const { record, artifacts, lines } = await run({ volume_id: ['vol-0aaa', 'vol-0bbb'], wait: 1 });
    expect(artifacts.map((a) => a.name)).toEqual(['db.json']);
    expect(artifacts[0]!.error).toBeUndefined();
    expect(fake.createRequests.map((r) => r.VolumeId)).toEqual(['vol-0aaa', 'vol-0bbb']);
    for (const request of fake.createRequests) {
      expect(request).toMatchObject({
        'TagSpecification.1.ResourceType': 'snapshot',
        'TagSpecification.1.Tag.1.Key': 'Name',
        'TagSpecification.1.Tag.2.Key': 'backup-runner:source',
        'TagSpecification.1.Tag.2.Value': 'db',
        'TagSpecification.1.Tag.3.Key': 'backup-runner:host',
        'TagSpecification.1.Tag.3.Value': 'host1',
      });
      expect(request['TagSpecification.1.Tag.1.Value']).toMatch(new RegExp(`^db ${request.VolumeId} \\d{14}$`));
    }
    expect(record).toMatchObject({ source: 'db', type: 'snapshot', hostname: 'host1', region: 'eu-west-1', waited: true, deleted_snapshots: [] });
    expect(record.snapshots).toEqual([
      expect.objectContaining({ volume_id: 'vol-0aaa', snapshot_id: expect.stringMatching(/^snap-/), state: 'completed', volume_size_gib: 8 }),
      expect.objectContaining({ volume_id: 'vol-0bbb', snapshot_id: expect.stringMatching(/^snap-/), state: 'completed', volume_size_gib: 100 }),
    ]);
    for (const s of record.snapshots) expect(fake.snapshots.get(s.snapshot_id as string)?.state).toBe('completed');
    expect(lines.join('\n')).toMatch(/snapshots: completed/);
  });

  it('snapshots every volume attached to the instance named by instancename (region from availability_zone)', async () => {
    await startFake();
    const { record } = await run({ region: undefined, availability_zone: 'eu-west-1b', instancename: 'maindb1' });
    expect(record.region).toBe('eu-west-1');
    expect(record.snapshots).toEqual([expect.objectContaining({ volume_id: 'vol-0ccc', instance_id: 'i-0db', device: '/dev/xvda', state: 'pending' })]);

    const byId = await run({ instance_id: 'i-0web' });
    expect(byId.record.snapshots.map((s) => s.volume_id)).toEqual(['vol-0aaa', 'vol-0bbb']);
    await expect(run({ instancename: 'nosuch' })).rejects.toThrow(/no EC2 instance named "nosuch"/);
    await expect(run({ volume_id: 'vol-0missing' })).rejects.toThrow(/volume not found: .*InvalidVolume.NotFound/);
  });

  it('keeps exactly retain_snapshots of ours per volume, and never deletes snapshots it did not tag', async () => {
    await startFake();
    const day = 86_400_000;
    const t0 = Date.now() - 30 * day;
    const oursA = [1, 2, 3].map((n) => fake.addSnapshot({ volumeId: 'vol-0aaa', startTime: new Date(t0 + n * day), tags: OURS() }));
    const untaggedOld = fake.addSnapshot({ volumeId: 'vol-0aaa', startTime: new Date(t0 - day) });
    const foreign = fake.addSnapshot({ volumeId: 'vol-0aaa', startTime: new Date(t0), tags: [{ Key: 'Name', Value: 'made by hand' }] });
    const otherSource = fake.addSnapshot({ volumeId: 'vol-0aaa', startTime: new Date(t0 - 2 * day), tags: OURS('other') });
    const otherAccount = fake.addSnapshot({ volumeId: 'vol-0aaa', startTime: new Date(t0 - 3 * day), tags: OURS(), ownerId: '999999999999' });
    const oursB = fake.addSnapshot({ volumeId: 'vol-0bbb', startTime: new Date(t0), tags: OURS() });
    const untouchable = [untaggedOld, foreign, otherSource, otherAccount];

    const first = await run({ volume_id: ['vol-0aaa', 'vol-0bbb'], wait: true, retain_snapshots: 2 });
    const newA = first.record.snapshots[0]!.snapshot_id as string;
    expect(first.record.deleted_snapshots.map((d) => d.snapshot_id).sort()).toEqual([oursA[0]!.id, oursA[1]!.id].sort());
    expect(snapshotsOf('vol-0aaa').filter((s) => s.tags.some((t) => t.Key === 'backup-runner:source' && t.Value === 'db') && s.ownerId !== '999999999999').map((s) => s.id).sort()).toEqual([oursA[2]!.id, newA].sort());
    expect(snapshotsOf('vol-0bbb').map((s) => s.id)).toContain(oursB.id);

    // Two more runs: still exactly two of ours per volume, the newest ones.
    await run({ volume_id: ['vol-0aaa', 'vol-0bbb'], wait: true, retain_snapshots: 2 });
    const third = await run({ volume_id: ['vol-0aaa', 'vol-0bbb'], wait: true, retain_snapshots: 2 });
    for (const volume of ['vol-0aaa', 'vol-0bbb']) {
      const ours = snapshotsOf(volume).filter((s) => s.ownerId !== '999999999999' && s.tags.some((t) => t.Key === 'backup-runner:source' && t.Value === 'db'));
      expect(ours).toHaveLength(2);
      expect(ours.map((s) => s.id)).toContain(third.record.snapshots.find((s) => s.volume_id === volume)!.snapshot_id);
    }
    for (const s of untouchable) expect(fake.snapshots.has(s.id), `${s.id} must stay`).toBe(true);
  });

  it('fails when a snapshot goes to "error", and when it does not complete within wait_timeout', async () => {
    await startFake({ failSnapshots: true });
    await expect(run({ volume_id: 'vol-0aaa', wait: true })).rejects.toThrow(/snapshot snap-\w+ of vol-0aaa failed \(state "error"\)/);
    await fake.close();
    await startFake({ pendingPolls: 1000 });
    await expect(run({ volume_id: 'vol-0aaa', wait: true, wait_timeout: 2, retain_snapshots: 1 })).rejects.toThrow(/gave up waiting for snapshot\(s\) snap-\w+ to complete after 2 s/);
  });

  it('names the credentials when EC2 rejects them', async () => {
    await startFake();
    await expect(run({ volume_id: 'vol-0aaa', credentials: undefined, aws_access_key_id: 'AKIAWRONG', aws_secret_access_key: 'x' })).rejects.toThrow(
      /AWS rejected the credentials \(AuthFailure\): check credentials.aws_access_key_id/,
    );
  });
});

describeWith(['gpg', 'zstd'], 'snapshot through the CLI', () => {
  let gpgHome: GpgHome;
  beforeAll(async () => {
    gpgHome = await makeGpgHome(false);
  });
  afterAll(async () => {
    await gpgHome?.remove();
  });

  it('stores the JSON record encrypted; gpg decrypts it to the snapshots made', async () => {
    await startFake();
    const dir = join(tmp.path, 'cli');
    await mkdir(dir);
    const jobPath = await writeJob(dir, {
      sources: [{ id: 'vols', type: 'snapshot', passphrase: 'snap pass 1', ...options({ volume_id: 'vol-0bbb', wait: 1, retain_snapshots: 3 }) }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
      notifications: [],
    });
    const result = await runCli(['run', jobPath]);
    expect(result.code, result.stderr).toBe(0);
    const runs = await readdir(join(dir, 'store', 'vols'));
    expect(runs).toHaveLength(1);
    const file = join(dir, 'store', 'vols', runs[0]!, 'vols.json.zst.gpg');
    const plain = execFileSync('zstd', ['-d', '-c'], { input: await gpgDecrypt(file, gpgHome, 'snap pass 1') });
    const record = JSON.parse(plain.toString('utf8')) as { snapshots: { snapshot_id: string; volume_id: string; state: string }[] };
    expect(record.snapshots).toEqual([expect.objectContaining({ volume_id: 'vol-0bbb', state: 'completed' })]);
    expect(fake.snapshots.get(record.snapshots[0]!.snapshot_id)?.tags).toEqual(expect.arrayContaining([{ Key: 'backup-runner:source', Value: 'vols' }]));
  });
});
