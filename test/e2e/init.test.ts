/**
 * `backup init` through the built CLI: every --source, --dest and --notify form gives a job
 * file that `backup validate` accepts; secrets live in 0600 files next to it (given values, or
 * placeholders, and a generated passphrase unless --recipient); an existing job file is not
 * overwritten without --force and its secret files never are; unknown kinds are usage errors.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const KEY = fileURLToPath(new URL('../../examples/keys/backup-team.asc', import.meta.url));

const SOURCES = [
  'folder:/etc',
  '/var/www/shop',
  'ssh://backup@web2.example.org:2222/srv/data',
  'mysql://backup@localhost/shop',
  'mysql://backup:s3cret-db-pass@db.example.org:3307/crm,billing',
  'mariadb://root@localhost/wiki',
  'pgsql://postgres@localhost/app',
  'postgres://app:pg-pass-123@pg.example.org:5433/orders',
  'pgsql://postgres@localhost/*',
  'logs=folder:/var/log',
];
const DESTS = [
  'local:/mnt/backup',
  '/srv/backup',
  's3://bucket/prefix',
  's3://other-bucket?region=eu-west-1&endpoint=https://s3.example.org',
  'b2://b2-bucket/hosts/web1',
  'gs://gs-bucket',
  'minio://minio.lan:9000/minio-bucket/web1',
  'sftp://backup@store.example.org:2022/backups/web1',
];
const KUMA_URL = 'https://kuma.example.org/api/push/kumaTokenAbc123';
const NOTIFY = [
  `uptime-kuma:${KUMA_URL}`,
  'uptime-kuma',
  'healthchecks:https://hc-ping.com/5f0a7a40-0000-4000-8000-000000000000',
  'ntfy:https://ntfy.sh/backups-7f3a9c',
  'ntfy',
  'webhook:https://hooks.example.org/backup?token=abc',
  'slack:https://hooks.slack.com/services/T000/B000/XXXX',
  'discord:https://discord.com/api/webhooks/1/abc',
  'telegram:-1001234567890',
  'email:ops@example.org',
  'flagfile:/var/lib/backup-runner/ok',
];

function flags(name: string, values: readonly string[]): string[] {
  return values.flatMap((v) => [name, v]);
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

let tmp: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  tmp = await makeTempDir('br-init-');
});

afterAll(async () => {
  await tmp.remove();
});

describe('backup init', () => {
  it('writes a commented job file from every flag form that backup validate accepts, secrets in 0600 files', async () => {
    const out = join(tmp.path, 'all.jsonc');
    const init = await runCli(['init', ...flags('--source', SOURCES), ...flags('--dest', DESTS), ...flags('--notify', NOTIFY), '--out', out]);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`next (once the placeholders are replaced): backup validate ${out} && backup run --dry-run ${out}`);

    const validate = await runCli(['validate', out]);
    expect(validate.stderr).toBe('');
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain('10 source(s): etc, shop, web2.example.org-data, shop-2, crm, wiki, app, orders, pgsql, logs');
    expect(validate.stdout).toContain('8 destination(s): local, local-2, s3, s3-2, b2, gs, minio, sftp');
    expect(validate.stdout).toContain('11 notification(s)');

    const text = await readFile(out, 'utf8');
    // Every block is explained; secrets given on the line are not in the job file.
    expect(text.match(/^\s*\/\/ /gm)!.length).toBeGreaterThan(30);
    for (const heading of ['"sources": [', '"destinations": [', '"notifications": [', '"passphrase_file"']) expect(text).toContain(heading);
    for (const secret of ['s3cret-db-pass', 'pg-pass-123', 'kumaTokenAbc123', 'hooks.slack.com', 'token=abc']) expect(text).not.toContain(secret);

    expect(await modeOf(out)).toBe(0o600);
    const secretsDir = join(tmp.path, 'secrets');
    expect(await modeOf(secretsDir)).toBe(0o700);
    const files = await readdir(secretsDir);
    expect(files.length).toBeGreaterThanOrEqual(12);
    for (const file of files) expect(await modeOf(join(secretsDir, file)), file).toBe(0o600);
    expect(await readFile(join(secretsDir, 'all-crm-dbpass'), 'utf8')).toBe('s3cret-db-pass\n');
    expect(await readFile(join(secretsDir, 'all-shop-2-dbpass'), 'utf8')).toBe('REPLACE-ME\n');
    expect(await readFile(join(secretsDir, 'all-uptime-kuma-push-url'), 'utf8')).toBe(`${KUMA_URL}\n`);
    const passphrase = (await readFile(join(secretsDir, 'all-passphrase'), 'utf8')).trim();
    expect(passphrase.length).toBeGreaterThanOrEqual(32);
    expect(init.stdout).not.toContain(passphrase);
  });

  it('encrypts to --recipient key files instead: no passphrase file, and validate accepts it', async () => {
    const out = join(tmp.path, 'keyed.jsonc');
    const init = await runCli(['init', '--source', '/etc', '--dest', '/srv/backup', '--recipient', KEY, '--out', out]);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`next: backup validate ${out}`);
    expect(existsSync(join(tmp.path, 'secrets', 'keyed-passphrase'))).toBe(false);
    const text = await readFile(out, 'utf8');
    expect(text).toContain(`"recipients": [ ${JSON.stringify(KEY)} ]`);
    expect(text).not.toContain('"passphrase_file"');
    const validate = await runCli(['validate', out]);
    expect(validate).toMatchObject({ code: 0, stderr: '' });

    const missing = await runCli(['init', '--source', '/etc', '--dest', '/srv/backup', '--recipient', join(tmp.path, 'nokey.asc'), '--out', join(tmp.path, 'nokey.jsonc')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such key file');
    expect(existsSync(join(tmp.path, 'nokey.jsonc'))).toBe(false);
  });

  it('refuses to overwrite a job file without --force; with it, the secret files are kept as they are', async () => {
    const dir = await makeTempDir('br-init-force-');
    try {
      const out = join(dir.path, 'nightly.jsonc');
      const first = await runCli(['init', '--source', '/etc', '--dest', '/srv/backup'], { cwd: dir.path });
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('next: backup validate nightly.jsonc && backup run --dry-run nightly.jsonc');
      const job = await readFile(out, 'utf8');
      const passphrase = await readFile(join(dir.path, 'secrets', 'nightly-passphrase'), 'utf8');

      const again = await runCli(['init', '--source', '/home', '--dest', '/srv/backup'], { cwd: dir.path });
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('nightly.jsonc exists; give --force to overwrite it');
      expect(await readFile(out, 'utf8')).toBe(job);

      const forced = await runCli(['init', '--source', '/home', '--dest', '/srv/backup', '--force'], { cwd: dir.path });
      expect(forced.code).toBe(0);
      expect(forced.stdout).toContain('kept secrets/nightly-passphrase');
      expect(await readFile(out, 'utf8')).toContain('"path": "/home"');
      expect(await readFile(join(dir.path, 'secrets', 'nightly-passphrase'), 'utf8')).toBe(passphrase);
      expect((await runCli(['validate', out])).code).toBe(0);
    } finally {
      await dir.remove();
    }
  });

  it('each passphrase is new and random', async () => {
    const a = join(tmp.path, 'a.jsonc');
    const b = join(tmp.path, 'b.jsonc');
    expect((await runCli(['init', '--source', '/etc', '--dest', '/srv/backup', '--out', a])).code).toBe(0);
    expect((await runCli(['init', '--source', '/etc', '--dest', '/srv/backup', '--out', b])).code).toBe(0);
    const pa = await readFile(join(tmp.path, 'secrets', 'a-passphrase'), 'utf8');
    const pb = await readFile(join(tmp.path, 'secrets', 'b-passphrase'), 'utf8');
    expect(pa).not.toBe(pb);
  });

  it('a bad spec is repeated without its secrets: no URL password, no token in a notify URL', async () => {
    const out = join(tmp.path, 'bad-secret.jsonc');
    const cases: [string[], string, RegExp][] = [
      [['--source', 'mysql://backup:Pw-Init-Secret-42@localhost', '--dest', '/srv'], 'Pw-Init-Secret-42', /--source mysql:\/\/backup:\*\*\*@localhost: expected mysql:\/\//],
      [['--source', '/etc', '--dest', '/srv', '--notify', 'webhook:ftp://hooks.example.org/T0/B0/HookToken-Init-77'], 'HookToken-Init-77', /--notify webhook:ftp:\/\/hooks\.example\.org\/…: expected an http\(s\) URL/],
    ];
    for (const [args, secret, message] of cases) {
      const result = await runCli(['init', ...args, '--out', out]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain(secret);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('an unknown kind or a bad spec is a usage error naming the accepted forms; nothing is written', async () => {
    const out = join(tmp.path, 'bad.jsonc');
    const cases: [string[], RegExp][] = [
      [['--source', 'oracle://db/x', '--dest', '/srv'], /--source oracle:\/\/db\/x: unknown kind "oracle"; accepted: folder:PATH.*ssh:\/\/.*mysql:\/\/.*pgsql:\/\//],
      [['--source', '/etc', '--dest', 'ftp://host/x'], /--dest ftp:\/\/host\/x: unknown kind "ftp"; accepted: local:PATH.*s3:\/\/.*b2:\/\/.*gs:\/\/.*minio:\/\/.*sftp:\/\//],
      [['--source', '/etc', '--dest', '/srv', '--notify', 'pager:123'], /--notify pager:123: unknown kind "pager"; accepted: uptime-kuma:PUSH_URL, healthchecks:PING_URL, ntfy:TOPIC_URL, webhook:URL.*email:ADDRESS/],
      [['--source', '/etc', '--dest', '/srv', '--notify', 'email:nobody'], /expected email:ADDRESS/],
      [['--source', '/etc', '--dest', '/srv', '--notify', 'uptime-kuma:ftp://x'], /expected an http\(s\) URL/],
      [['--source', 'mysql://backup@localhost', '--dest', '/srv'], /expected mysql:\/\/user@host\[:port\]\/database \(several: db1,db2; a password as user:password@host\)/],
      [['--source', '/etc'], /needs at least one --source and one --dest/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['init', ...args, '--out', out]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain('***');
      expect(existsSync(out)).toBe(false);
    }
  });
});
