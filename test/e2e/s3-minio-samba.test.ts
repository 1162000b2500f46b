/**
 * End to end through the built CLI: a folder backed up to s3 and minio (both against the
 * in-process S3-protocol server) and samba (a private smbd), restored from each; retention runs
 * over each; `--dry-run` checks them; wrong credentials fail that destination only, by name,
 * without the secret.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { writeJob } from '../support/jobs.js';
import { startFakeS3, type FakeS3Server } from '../support/s3-server.js';
import { SMBD_BINARIES, startSmbd, type SmbdServer } from '../support/smbd.js';
import { makeTempDir } from '../support/tmp.js';
import { describeTree, makeTree } from '../support/tree.js';

const PASSPHRASE = 's3 minio samba e2e passphrase 5d1e';

describeWith(['tar', 'zstd', ...SMBD_BINARIES], 'folder → s3, minio, samba, end to end', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let data: string;
  let s3: FakeS3Server;
  let smb: SmbdServer;
  let destinations: Record<string, unknown>[];

  beforeAll(async () => {
    tmp = await makeTempDir();
    data = join(tmp.path, 'data');
    await mkdir(data);
    await makeTree(data, { binaryBytes: 3 * 1024 * 1024 });
    s3 = await startFakeS3({ pageLimit: 10, buckets: ['backups', 'spaces'] });
    smb = await startSmbd();
    destinations = [
      {
        id: 's3',
        type: 's3',
        bucket: 'backups',
        region: 'eu-west-1',
        endpoint_url: s3.endpoint,
        prefix: 'host1',
        credentials: { aws_access_key_id: s3.accessKeyId, aws_secret_access_key: s3.secretAccessKey },
        retention_copies: 2,
      },
      {
        id: 'minio',
        type: 'minio',
        endpoint: `127.0.0.1:${s3.port}`,
        secure: false,
        bucket: 'spaces',
        credentials: { access_key: s3.accessKeyId, secret_key: s3.secretAccessKey },
        retention_copies: 2,
      },
      {
        id: 'bigshare',
        type: 'samba',
        host: smb.host,
        port: smb.port,
        share: smb.share,
        workgroup: smb.workgroup,
        credentials: { username: smb.username, password: smb.password },
        suffix: 'gpg',
        path: 'servers/host1',
        retention_copies: 2,
      },
    ];
  }, 60_000);
  afterAll(async () => {
    await s3?.stop();
    await smb?.stop();
    await tmp?.remove();
  });

  it('stores each run on s3, minio and samba, keeps 2 runs, and restores the identical tree from each', async () => {
    const dir = join(tmp.path, 'ok');
    await mkdir(dir);
    const job = await writeJob(dir, { sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }], destinations });

    const dry = await runCli(['run', '--dry-run', job]);
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);

    // Three runs, in one second or several: a run in the second of the one before gets the key
    // with the next -N, so they are distinct either way.
    for (let i = 0; i < 3; i++) {
      const result = await runCli(['run', '-v', job]);
      expect(result.code, result.stderr).toBe(0);
      for (const secret of [PASSPHRASE, s3.secretAccessKey, smb.password]) expect(result.stdout + result.stderr).not.toContain(secret);
    }

    const stored = /^data\/\d{14}(?:-\d+)?\/data\.(tar\.zst\.gpg|manifest\.json)$/;
    const s3Keys = [...s3.buckets.get('backups')!.keys()].map((k) => k.replace(/^host1\//, ''));
    const minioKeys = [...s3.buckets.get('spaces')!.keys()];
    expect(s3Keys.filter((k) => stored.test(k))).toHaveLength(4);
    expect(minioKeys.filter((k) => stored.test(k))).toHaveLength(4);
    expect(s3.pendingUploads('backups')).toEqual([]);
    expect(s3.pendingUploads('spaces')).toEqual([]);

    const listed = await runCli(['list', job]);
    expect(listed.code, listed.stderr).toBe(0);

    for (const id of ['s3', 'minio', 'bigshare']) {
      const restored = join(dir, `restored-${id}`);
      const r = await runCli(['restore', job, '--source', 'data', '--destination', id, '--to', restored, '--extract']);
      expect(r.code, `${id}: ${r.stderr}`).toBe(0);
      expect(await describeTree(join(restored, 'data'))).toEqual(await describeTree(data));
    }
    const { readdir } = await import('node:fs/promises');
    const runsOnShare = await readdir(join(smb.shareDir, 'servers', 'host1', 'data'));
    expect(runsOnShare).toHaveLength(2);
  });

  it('wrong S3 secret and wrong SMB password fail those destinations only, by name, without the secrets', async () => {
    const dir = join(tmp.path, 'wrong');
    await mkdir(dir);
    const wrongSecret = 'wrong-aws-secret-0123456789abcdef';
    const wrongPassword = 'wrong-smb-password-4711';
    const job = await writeJob(dir, {
      sources: [{ id: 'data', type: 'folder', path: data, passphrase: PASSPHRASE }],
      destinations: [
        { ...destinations[0], id: 's3-wrong', credentials: { aws_access_key_id: s3.accessKeyId, aws_secret_access_key: wrongSecret } },
        destinations[1],
        { ...destinations[2], id: 'smb-wrong', credentials: { username: smb.username, password: wrongPassword } },
      ],
    });
    const result = await runCli(['run', job]);
    const text = result.stdout + result.stderr;
    expect(result.code, text).toBe(1);
    expect(text).toMatch(/s3-wrong.*SignatureDoesNotMatch/);
    expect(text).toMatch(/smb-wrong.*NT_STATUS_LOGON_FAILURE/);
    expect(text).not.toContain(wrongSecret);
    expect(text).not.toContain(wrongPassword);
  });
});
