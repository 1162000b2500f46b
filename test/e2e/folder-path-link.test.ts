/**
 * A folder source whose `path` is a symbolic link (`/var/www` → `/srv/www`): the folder it
 * points to is archived, under its own name. tar alone stores such a path as the link itself:
 * every run stored one link and no file, and reported success.
 */
import { lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';
import { describeTree } from '../support/tree.js';

describeWith(['zstd', 'tar'], 'folder source: a path that is a symbolic link', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let site: string;

  beforeAll(async () => {
    tmp = await makeTempDir();
    site = join(tmp.path, 'srv', 'site-2026');
    await mkdir(join(site, 'assets'), { recursive: true });
    await writeFile(join(site, 'index.html'), '<h1>home</h1>\n');
    await writeFile(join(site, 'assets', 'app.js'), 'console.log(1)\n');
    await symlink('index.html', join(site, 'home.html')); // a link inside stays a link
    await mkdir(join(tmp.path, 'var'));
    await symlink(site, join(tmp.path, 'var', 'www'));
    await writeFile(join(tmp.path, 'srv', 'app.conf'), 'port = 8080\n');
    await symlink(join(tmp.path, 'srv', 'app.conf'), join(tmp.path, 'var', 'app.conf'));
  });
  afterAll(async () => {
    await tmp?.remove();
  });

  it('archives the folder a link points to, under its own name, and the spot check compares it', async () => {
    const dir = join(tmp.path, 'folder');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [{ id: 'www', type: 'folder', path: join(tmp.path, 'var', 'www'), passphrase: 'link test passphrase' }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const run = await runCli(['-v', job]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toContain(`is a symbolic link: archiving ${site}, stored as ./site-2026`);

    const files = await runCli(['files', job]);
    expect(files.code, files.stderr).toBe(0);
    expect(files.stdout).toMatch(/site-2026\/index\.html/);
    expect(files.stdout).toMatch(/site-2026\/assets\/app\.js/);

    const spot = await runCli(['verify', job, '--spot', '10', '--spot-tolerance', '0']);
    expect(spot.code, spot.stdout + spot.stderr).toBe(0);

    const to = join(dir, 'restored');
    const restored = await runCli(['restore', job, '--to', to, '--extract']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await describeTree(join(to, 'site-2026'))).toEqual(await describeTree(site));
  });

  it('archives the file a link points to', async () => {
    const dir = join(tmp.path, 'file');
    await mkdir(dir);
    const job = await writeJob(dir, {
      sources: [{ id: 'conf', type: 'folder', path: join(tmp.path, 'var', 'app.conf'), passphrase: 'link test passphrase' }],
      destinations: [{ id: 'disk', type: 'local', path: join(dir, 'store'), create: 1 }],
    });
    const run = await runCli([job]);
    expect(run.code, run.stderr).toBe(0);
    const to = join(dir, 'restored');
    const restored = await runCli(['restore', job, '--to', to, '--extract']);
    expect(restored.code, restored.stderr).toBe(0);
    // The file itself, not a link to the live one.
    expect((await lstat(join(to, 'app.conf'))).isFile()).toBe(true);
    expect(await readFile(join(to, 'app.conf'), 'utf8')).toBe('port = 8080\n');
  });
});
