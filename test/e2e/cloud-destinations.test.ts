/**
 * End to end through the built CLI: a folder backed up to the four cloud destinations (gs,
 * b2, dropbox, gdrive), each pointed at its local fake, then restored from each of them; and a
 * job whose Dropbox token is wrong fails that destination only, naming it, without the token.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { startB2Fake, type B2Fake } from '../support/fakes/b2.js';
import { startDropboxFake, type DropboxFake } from '../support/fakes/dropbox.js';
import { startGcsFake, type GcsFake } from '../support/fakes/gcs.js';
import { startDriveFake, type DriveFake } from '../support/fakes/gdrive.js';
import { keyFile, makeServiceAccount } from '../support/fakes/google-oauth.js';
import { writeJob } from '../support/jobs.js';
import { describeTree, makeDataTree } from '../support/tree.js';

const PASSPHRASE = 'cloud e2e passphrase 91c2';

describeWith(['tar', 'zstd'], 'folder → gs, b2, dropbox, gdrive fakes, end to end', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let data: string;
  let gcs: GcsFake;
  let b2: B2Fake;
  let dropbox: DropboxFake;
  let drive: DriveFake;
  let destinations: Record<string, unknown>[];

  beforeAll(async () => {
    ({ tmp, data } = await makeDataTree());
    const account = makeServiceAccount();
    gcs = await startGcsFake({ buckets: ['backups'], accounts: [account] });
    drive = await startDriveFake({ accounts: [account] });
    drive.addFolder('drive-root', 'Backups');
    b2 = await startB2Fake({ bucket: 'backups' });
    dropbox = await startDropboxFake();
    await writeFile(join(tmp.path, 'gcs.json'), keyFile(account, gcs.tokenUri), { mode: 0o600 });
    await writeFile(join(tmp.path, 'drive.json'), keyFile(account, drive.tokenUri), { mode: 0o600 });
    destinations = [
      { id: 'gcs', type: 'gs', bucket: 'backups', gcs_creds_path: join(tmp.path, 'gcs.json'), prefix: 'host1', endpoint: gcs.url },
      { id: 'b2', type: 'b2', bucket: 'backups', credentials: { application_key_id: b2.keyId, application_key: b2.key }, endpoint: b2.url },
      { id: 'dbx', type: 'dropbox', access_token: dropbox.accessToken, folder: '/backups', endpoint: dropbox.url },
      { id: 'drive', type: 'gdrive', creds_file: join(tmp.path, 'drive.json'), folder_id: 'drive-root', endpoint: drive.url },
    ];
  });
  afterAll(async () => {
    await Promise.all([gcs?.close(), b2?.close(), dropbox?.close(), drive?.close()]);
    await tmp?.remove();
  });

  it('stores the run on every cloud destination and restores the identical tree from each', async () => {
    const dir = join(tmp.path, 'ok');
    await mkdir(dir);
    const job = await writeJob(dir, { sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }], destinations });
    const result = await runCli(['-v', job]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(PASSPHRASE);
    expect(result.stdout + result.stderr).not.toContain(b2.key);
    expect(result.stdout + result.stderr).not.toContain(dropbox.accessToken);

    const stored = /^data\/\d{14}(?:-\d+)?\/data\.(tar\.zst\.gpg|manifest\.json)$/;
    expect([...gcs.objects('backups').keys()].map((k) => k.replace(/^host1\//, ''))).toEqual(expect.arrayContaining([expect.stringMatching(stored)]));
    expect([...gcs.objects('backups').keys()].filter((k) => stored.test(k.replace(/^host1\//, '')))).toHaveLength(2);
    expect([...b2.files().keys()].filter((k) => stored.test(k))).toHaveLength(2);
    expect([...dropbox.entries.entries()].filter(([k, e]) => e.tag === 'file' && stored.test(k.replace(/^\/backups\//, '')))).toHaveLength(2);
    expect([...drive.files.values()].filter((f) => f.data && stored.test(drive.pathOf(f, 'drive-root') ?? ''))).toHaveLength(2);

    for (const id of ['gcs', 'b2', 'dbx', 'drive']) {
      const restored = join(dir, `restored-${id}`);
      const r = await runCli(['restore', job, '--source', 'data', '--destination', id, '--to', restored, '--extract']);
      expect(r.code, `${id}: ${r.stderr}`).toBe(0);
      expect(await describeTree(join(restored, 'data'))).toEqual(await describeTree(data));
    }
  });

  it('a wrong Dropbox token fails that destination only, by name, without the token', async () => {
    const dir = join(tmp.path, 'wrong');
    await mkdir(dir);
    const wrongToken = 'sl.this-token-is-wrong-0123456789';
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [destinations[1], { ...destinations[2], id: 'dbx-wrong', access_token: wrongToken }],
    });
    const result = await runCli([job]);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/dbx-wrong.*Dropbox rejected the access token \(HTTP 401 invalid_access_token/);
    expect(result.stdout + result.stderr).not.toContain(wrongToken);
  });
});
