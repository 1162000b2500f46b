/**
 * `env_file`: settings for a job started without an environment (vzdump runs its hook with an
 * empty one). KEY=VALUE lines feed `${VAR}`; the file's values win over the process environment.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadJobText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { Redactor } from '../../src/secrets.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'br-envfile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function job(extra: Record<string, unknown>) {
  return {
    ...extra,
    sources: [{ id: 'etc', type: 'folder', path: '/etc', passphrase: '${PASS}' }],
    destinations: [{ id: 'disk', type: 'local', path: '${DEST}' }],
    notifications: [{ id: 'kuma', type: 'uptime-kuma', push_url: '${KUMA}' }],
  };
}

function load(tree: unknown, env: NodeJS.ProcessEnv) {
  return loadJobText(JSON.stringify(tree), { env, redactor: new Redactor() }, join(dir, 'pve.json'));
}

function problems(tree: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    load(tree, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('env_file', () => {
  it('feeds ${VAR} from a file relative to the job file, before the environment', async () => {
    await writeFile(
      join(dir, 'pve.env'),
      '# settings for the vzdump hook\n\nexport PASS="a long passphrase 1"\nDEST=/srv/backups\nKUMA=\'http://127.0.0.1:3001/api/push/abc?status=up\'\n',
      { mode: 0o600 },
    );
    const loaded = load(job({ env_file: 'pve.env' }), { DEST: '/from/environment', HOSTNAME: 'guest-name' });
    expect(loaded.sources[0]!.options.passphrase).toBe('a long passphrase 1');
    expect(loaded.destinations[0]!.options.path).toBe('/srv/backups');
    expect(loaded.notifications[0]!.options.push_url).toBe('http://127.0.0.1:3001/api/push/abc?status=up');
    expect(loaded.warnings.filter((w) => w.includes('env_file'))).toEqual([]);
  });

  it('takes names the file does not set from the environment', async () => {
    await writeFile(join(dir, 'partial.env'), 'PASS=another passphrase\n', { mode: 0o600 });
    const loaded = load(job({ env_file: 'partial.env' }), { DEST: '/mnt/x', KUMA: 'http://127.0.0.1/api/push/t' });
    expect(loaded.destinations[0]!.options.path).toBe('/mnt/x');
  });

  it('warns when other users can read the file', async () => {
    await writeFile(join(dir, 'open.env'), 'PASS=another passphrase\nDEST=/d\nKUMA=http://127.0.0.1/api/push/t\n');
    await chmod(join(dir, 'open.env'), 0o644);
    expect(load(job({ env_file: 'open.env' }), {}).warnings.join('\n')).toMatch(/env_file: .*open\.env can be read by other users \(mode 0644\): chmod 600/);
  });

  it('is a job-file error when missing or malformed, naming the line but not its text', async () => {
    expect(problems(job({ env_file: 'missing.env' }))).toContain(`env_file: cannot read ${join(dir, 'missing.env')} (ENOENT)`);
    await writeFile(join(dir, 'bad.env'), 'PASS=ok passphrase\nthis secret line is wrong\n', { mode: 0o600 });
    const found = problems(job({ env_file: 'bad.env' }), { DEST: '/d', KUMA: 'http://127.0.0.1/api/push/t' });
    expect(found).toEqual([`env_file: ${join(dir, 'bad.env')} line 2: expected KEY=VALUE (KEY of letters, digits and _)`]);
  });

  it('without env_file, an unset variable is still an error', () => {
    expect(problems(job({}), { PASS: 'x passphrase', DEST: '/d' })).toContain('notifications[0].push_url: environment variable KUMA is not set');
  });
});
