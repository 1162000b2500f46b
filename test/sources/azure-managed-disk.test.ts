/**
 * `azure-managed-disk` with the real @azure/identity (ClientSecretCredential, authority host
 * pointed at a local fake of Entra ID) and @azure/arm-compute (endpoint pointed at a local fake
 * of Resource Manager with long-running operations), over HTTPS with a throwaway CA given as
 * ca_file. Retention keeps exactly retain_snapshots of ours per disk and never deletes a
 * snapshot this source did not make.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { snapshotName } from '../../src/sources/azure-managed-disk/create.js';
import { azureManagedDiskSource } from '../../src/sources/azure-managed-disk/index.js';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { capturingLogger, cloudContext, makeSource, problemsOf } from '../support/cloud-source.js';
import { FakeAzure, type FakeArmResource } from '../support/fakes/azure.js';
import { gpgDecrypt, makeGpgHome, type GpgHome } from '../support/gpg.js';
import { writeJob } from '../support/jobs.js';
import { collectArtifacts } from '../support/sql.js';
import { makeTestCertificates, type TestCertificates } from '../support/tls.js';
import { makeTempDir } from '../support/tmp.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = 'a1b2c3d4-0000-4000-8000-00000000c11e';
const SECRET = 'fake~client~secret~Q8x';
const SUBSCRIPTION = '285adaab-abcd-41cc-1234-9f256543d534';
const SOURCE_RG = 'MC_KUBERNETES_AZURECLUSTER1_NORTHEUROPE';
const DEST_RG = 'MyBackupsResourceGroup';

describe('azure-managed-disk options', () => {
  it('accepts the original README example (credentials from TENANT_ID/CLIENT_ID/CLIENT_KEY)', () => {
    expect(
      problemsOf(azureManagedDiskSource, {
        name: 'My Disk 1',
        subscription_id: SUBSCRIPTION,
        source_resource_group: SOURCE_RG,
        destination_resource_group: DEST_RG,
        disk_name: 'mydisk1',
        retain_snapshots: 3,
      }),
    ).toEqual([]);
    expect(problemsOf(azureManagedDiskSource, { subscription_id: 's', source_resource_group: 'a', destination_resource_group: 'b', disk_name: 'd', tenant_id: 't' })).toEqual([
      expect.stringMatching(/^client_id: give tenant_id, client_id and client_secret together/),
    ]);
  });

  it('makes valid snapshot names of at most 80 characters', () => {
    const now = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(snapshotName('mydisk1', 'mydisk1', now)).toBe('mydisk1-mydisk1-20240102030405');
    const long = snapshotName('_disk with spaces/' + 'x'.repeat(90), 'src.id', now);
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*-src\.id-20240102030405$/);
  });
});

describeWith(['openssl', 'gpg', 'zstd'], 'azure-managed-disk against fake Entra ID and Resource Manager', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let certificates: TestCertificates;
  let fake: FakeAzure;
  let disk: FakeArmResource;

  beforeAll(async () => {
    tmp = await makeTempDir('br-azure-');
    certificates = await makeTestCertificates(tmp.path);
  });
  afterAll(async () => {
    await tmp?.remove();
  });
  afterEach(async () => {
    await fake?.close();
  });

  async function startFake(options: Partial<ConstructorParameters<typeof FakeAzure>[0]> = {}): Promise<FakeAzure> {
    fake = await new FakeAzure({ tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET, subscriptionId: SUBSCRIPTION, asyncPolls: 1, pageSize: 2, ...options }).start(certificates);
    disk = fake.addDisk(SOURCE_RG, 'mydisk1', 'northeurope', 64);
    fake.addDisk(SOURCE_RG, 'otherdisk', 'northeurope', 32);
    return fake;
  }

  function options(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      subscription_id: SUBSCRIPTION,
      source_resource_group: SOURCE_RG,
      destination_resource_group: DEST_RG,
      disk_name: 'mydisk1',
      tenant_id: TENANT,
      client_id: CLIENT,
      client_secret: SECRET,
      endpoint: fake.url,
      authority_host: fake.url,
      ca_file: certificates.caFile,
      ...extra,
    };
  }

  async function run(extra: Record<string, unknown> = {}) {
    const { logger, lines } = capturingLogger();
    const source = await makeSource(azureManagedDiskSource, options(extra), logger);
    const ctx = cloudContext(tmp.path, logger);
    try {
      const artifacts = await collectArtifacts(source.open(ctx));
      const record = JSON.parse(artifacts[0]!.data.toString('utf8')) as { snapshot: { id: string; name: string; provisioning_state: string }; deleted_snapshots: { name: string }[]; disk: { id: string } };
      return { artifacts, lines, record };
    } finally {
      await source.cleanup?.(ctx);
    }
  }

  function oursOf(d: FakeArmResource): FakeArmResource[] {
    return fake
      .snapshotsIn(DEST_RG)
      .filter((s) => s.tags?.['backup-runner:source'] === 'db' && (s.properties.creationData as { sourceResourceId: string }).sourceResourceId === d.id);
  }

  it('copies the disk into a tagged snapshot through the long-running operation, and records it', async () => {
    await startFake();
    const { artifacts, record } = await run({ incremental: true });
    expect(artifacts.map((a) => a.name)).toEqual(['db.json']);
    expect(artifacts[0]!.error).toBeUndefined();
    const made = fake.snapshotsIn(DEST_RG);
    expect(made).toHaveLength(1);
    const snapshot = made[0]!;
    expect(snapshot.name).toMatch(/^mydisk1-db-\d{14}$/);
    expect(snapshot.location).toBe('northeurope');
    expect(snapshot.properties).toMatchObject({ creationData: { createOption: 'Copy', sourceResourceId: disk.id }, provisioningState: 'Succeeded', incremental: true });
    expect(snapshot.tags).toEqual({ 'backup-runner:source': 'db', 'backup-runner:host': 'host1', 'backup-runner:disk': disk.id });
    expect(record.snapshot).toMatchObject({ id: snapshot.id, name: snapshot.name, provisioning_state: 'Succeeded' });
    expect(record.disk.id).toBe(disk.id);
    // The operation was polled through its status monitor, then the resource read.
    expect(fake.calls.filter((c) => c.includes('/DiskOperations/')).length).toBeGreaterThanOrEqual(2);
    expect(fake.tokenRequests[0]).toMatchObject({ grant_type: 'client_credentials', client_id: CLIENT, scope: `${fake.url}/.default` });
    expect(fake.calls.some((c) => c.includes('discovery/instance'))).toBe(false);
  });

  it('keeps exactly retain_snapshots of ours for the disk, and never deletes snapshots it did not make', async () => {
    await startFake();
    const other = [...fake.resources.values()].find((r) => r.name === 'otherdisk')!;
    const day = 86_400_000;
    const t0 = Date.now() - 20 * day;
    const ours = [1, 2, 3].map((n) => fake.addSnapshot(DEST_RG, `mydisk1-db-old${n}`, disk, new Date(t0 + n * day), { 'backup-runner:source': 'db' }));
    const untagged = fake.addSnapshot(DEST_RG, 'manual-copy', disk, new Date(t0 - day));
    const otherSource = fake.addSnapshot(DEST_RG, 'other-source', disk, new Date(t0 - 2 * day), { 'backup-runner:source': 'nightly' });
    const otherDisk = fake.addSnapshot(DEST_RG, 'other-disk', other, new Date(t0 - 3 * day), { 'backup-runner:source': 'db' });
    const elsewhere = fake.addSnapshot('SomeOtherRG', 'elsewhere', disk, new Date(t0 - 4 * day), { 'backup-runner:source': 'db' });

    const first = await run({ retain_snapshots: 2 });
    expect(first.record.deleted_snapshots.map((d) => d.name).sort()).toEqual(['mydisk1-db-old1', 'mydisk1-db-old2']);
    expect(oursOf(disk).map((s) => s.name).sort()).toEqual([ours[2]!.name, first.record.snapshot.name].sort());

    // A clock one second on, so the second run's snapshot has a name of its own.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 1000, shouldAdvanceTime: true });
    const second = await run({ retain_snapshots: 2 }).finally(() => vi.useRealTimers());
    expect(second.record.snapshot.name).not.toBe(first.record.snapshot.name);
    expect(oursOf(disk).map((s) => s.name).sort()).toEqual([first.record.snapshot.name, second.record.snapshot.name].sort());
    for (const kept of [untagged, otherSource, otherDisk, elsewhere]) expect(fake.resources.has(kept.id.toLowerCase()), kept.name).toBe(true);
    expect(fake.calls.filter((c) => c.startsWith('DELETE '))).toHaveLength(3);
  });

  it('reports a refused client secret without revealing it, a missing disk, and a failed snapshot', async () => {
    await startFake();
    const refused = run({ client_secret: 'wrong-secret-value' });
    await expect(refused).rejects.toThrow(/Microsoft Entra ID refused service principal a1b2c3d4-0000-4000-8000-00000000c11e \(invalid_client: AADSTS7000215/);
    await expect(refused).rejects.not.toThrow(/wrong-secret-value/);
    await expect(run({ disk_name: 'nosuchdisk' })).rejects.toThrow(/managed disk nosuchdisk not found in resource group MC_KUBERNETES_AZURECLUSTER1_NORTHEUROPE/);
    await fake.close();
    await startFake({ failSnapshots: true });
    await expect(run()).rejects.toThrow(/creating snapshot mydisk1-db-\d+ in MyBackupsResourceGroup failed: Azure reports the operation failed \(InternalOperationError\. The snapshot could not be created\.\)/);
  });

  describe('through the CLI', () => {
    let gpgHome: GpgHome;
    beforeAll(async () => {
      gpgHome = await makeGpgHome(false);
    });
    afterAll(async () => {
      await gpgHome?.remove();
    });

    it('authenticates with TENANT_ID / CLIENT_ID / CLIENT_KEY as the original and stores the encrypted record', async () => {
      await startFake();
      const dir = join(tmp.path, 'cli');
      await mkdir(dir);
      const { tenant_id: _t, client_id: _c, client_secret: _s, ...source } = options({ retain_snapshots: 3 });
      const jobPath = await writeJob(dir, {
        sources: [{ id: 'disk1', type: 'azure-managed-disk', passphrase: 'azure pass 1', ...source }],
        destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
        notifications: [],
      });
      const result = await runCli(['run', '-v', jobPath], { env: { TENANT_ID: TENANT, CLIENT_ID: CLIENT, CLIENT_KEY: SECRET } });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr + result.stdout).not.toContain(SECRET);
      const runs = await readdir(join(dir, 'store', 'disk1'));
      const file = join(dir, 'store', 'disk1', runs[0]!, 'disk1.json.zst.gpg');
      const record = JSON.parse(execFileSync('zstd', ['-d', '-c'], { input: await gpgDecrypt(file, gpgHome, 'azure pass 1') }).toString('utf8')) as { snapshot: { id: string } };
      expect(fake.resources.get(record.snapshot.id.toLowerCase())?.tags?.['backup-runner:source']).toBe('disk1');
    });
  });
});
