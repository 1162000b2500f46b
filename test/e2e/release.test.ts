/**
 * The release as an operator gets it (`npm run release`, which .ci/run runs before the tests):
 * the single executable on a PATH without node, and the Debian package installed, used,
 * upgraded and purged on this machine.
 *
 * Without release/ built the file is skipped (a failure under CI=true). Installing the package
 * changes the machine (a package, the "backups" user): it runs under CI=true, or locally with
 * BACKUP_TEST_INSTALL=1, as root.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { makeGpgHome, type GpgHome } from '../support/gpg.js';
import { runProgram, type RunResult } from '../support/run.js';
import { makeTempDir } from '../support/tmp.js';
import { describeTree, makeTree } from '../support/tree.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RELEASE = join(ROOT, 'release');
const EXECUTABLE = join(RELEASE, 'backup-linux-x64');
const PACKAGE = 'backup-runner';

type Result = RunResult;

/** Runs a program with exactly this environment. */
function run(file: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number }): Promise<Result> {
  return runProgram(file, args, options);
}

/** What `npm run release` builds from. */
const RELEASE_INPUTS = ['src', 'bin', 'scripts/release', 'deploy', 'examples', 'docs', 'package.json', 'sea-config.json', 'README.md'];

/** The newest file among `paths` under the repository, with its time. */
function newestInput(paths: readonly string[]): { path: string; mtimeMs: number } {
  let newest = { path: '', mtimeMs: 0 };
  const visit = (path: string): void => {
    const info = statSync(path);
    if (info.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else if (info.mtimeMs > newest.mtimeMs) newest = { path, mtimeMs: info.mtimeMs };
  };
  for (const path of paths) if (existsSync(join(ROOT, path))) visit(join(ROOT, path));
  return newest;
}

/**
 * Runs `body` against the release .ci/run built before the tests; never builds it again. Without
 * it, or with one older than a file it is built from (a developer's stale build would test old
 * code), the file is skipped with the reason, and fails under CI=true.
 */
function releaseBuilt(what: string, file: () => string | undefined, title: string, body: () => void): void {
  const path = file();
  const newest = path && existsSync(path) ? newestInput(RELEASE_INPUTS) : undefined;
  if (path && newest && newest.mtimeMs <= statSync(path).mtimeMs) {
    describe(title, body);
    return;
  }
  const reason = newest ? `${what} is older than ${relative(ROOT, newest.path)} (npm run release)` : `${what} not built (npm run release)`;
  if (process.env.CI === 'true') {
    describe(title, () => {
      it('has the release it tests', () => {
        throw new Error(`CI=true and ${reason}`);
      });
    });
    return;
  }
  console.warn(`SKIP ${title}: ${reason}`);
  describe.skip(title, body);
}

function debFile(): string | undefined {
  if (!existsSync(RELEASE)) return undefined;
  const name = readdirSync(RELEASE).find((f) => f.startsWith(`${PACKAGE}_`) && f.endsWith('_amd64.deb'));
  return name && join(RELEASE, name);
}

releaseBuilt('release/backup-linux-x64', () => EXECUTABLE, 'single executable', () => {
  describeWith(['gpg', 'zstd', 'tar', 'diff', 'sha256sum'], 'under env -i, without node on PATH', () => {
    let tmp: { path: string; remove: () => Promise<void> };
    let env: NodeJS.ProcessEnv;
    let gpg: GpgHome;
    beforeAll(async () => {
      tmp = await makeTempDir('br-release-');
      // A PATH with every program of /usr/bin and /bin but node, npm and npx.
      const bin = join(tmp.path, 'bin');
      await mkdir(bin);
      for (const dir of ['/usr/bin', '/bin']) {
        for (const name of await readdir(dir)) {
          if (/^(node|nodejs|npm|npx|corepack)$/.test(name) || existsSync(join(bin, name))) continue;
          await symlink(join(dir, name), join(bin, name));
        }
      }
      env = { PATH: bin };
      gpg = await makeGpgHome(false);
    });
    afterAll(async () => {
      await gpg?.remove();
      await tmp?.remove();
    });

    it('node is not on that PATH; SHA256SUMS lists the executable', async () => {
      expect((await run('/bin/sh', ['-c', 'command -v node'], { env })).code).not.toBe(0);
      const sums = await run('sha256sum', ['-c', 'SHA256SUMS'], { env, cwd: RELEASE });
      expect(sums.stdout).toContain('backup-linux-x64: OK');
      expect(sums.code).toBe(0);
    });

    it('--help and --version', async () => {
      const help = await run(EXECUTABLE, ['--help'], { env, cwd: tmp.path });
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^Usage: backup /);
      expect(help.stdout).toContain('quickstart');
      expect(help.stderr).toBe('');
      const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      expect((await run(EXECUTABLE, ['--version'], { env })).stdout.trim()).toBe(pkg.version);
    });

    it('quickstart backs up its embedded examples, restores and compares them', async () => {
      const cwd = join(tmp.path, 'qs');
      await mkdir(cwd);
      const result = await run(EXECUTABLE, ['quickstart'], { env, cwd });
      expect(result.stderr).not.toMatch(/Warning|ERROR/);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(': identical.');
      expect(await readFile(join(cwd, 'backup-quickstart/examples/README.md'), 'utf8')).toBe(await readFile(join(ROOT, 'examples/README.md'), 'utf8'));
    });

    it('backs up a generated tree (encrypting on its worker thread), restores it, and gpg decrypts the stored file', async () => {
      const data = join(tmp.path, 'data');
      await mkdir(data);
      await makeTree(join(data, 'tree'), { binaryBytes: 8 << 20 });
      const passphrase = join(tmp.path, 'passphrase');
      await writeFile(passphrase, 'release-test-passphrase-0123\n', { mode: 0o600 });
      const job = join(tmp.path, 'job.json');
      const store = join(tmp.path, 'store');
      await writeFile(
        job,
        JSON.stringify({
          hostname: 'release-test',
          state_dir: join(tmp.path, 'state'),
          sources: [{ id: 'tree', type: 'folder', path: join(data, 'tree'), passphrase_file: passphrase }],
          destinations: [{ id: 'local', type: 'local', path: store, create: 1, retention_copies: 2 }],
        }),
      );
      // NODE_DEBUG=worker: Node logs each worker it starts; the executable's is started from embedded code.
      const backup = await run(EXECUTABLE, ['run', job], { env: { ...env, NODE_DEBUG: 'worker' }, cwd: tmp.path });
      expect(backup.code, backup.stderr.slice(-2000)).toBe(0);
      expect(backup.stderr).toMatch(/WORKER \d+: \[0\] create new worker/);

      const restored = join(tmp.path, 'restored');
      const restore = await run(EXECUTABLE, ['restore', job, '--to', restored, '--extract'], { env, cwd: tmp.path });
      expect(restore.code, restore.stderr).toBe(0);
      expect(await describeTree(join(restored, 'tree'))).toEqual(await describeTree(join(data, 'tree')));

      const runs = await readdir(join(store, 'tree'));
      const files = (await readdir(join(store, 'tree', runs.sort().at(-1)!))).filter((f) => f.endsWith('.gpg'));
      expect(files).toHaveLength(1);
      const stored = join(store, 'tree', runs.sort().at(-1)!, files[0]!);
      const viaGpg = join(tmp.path, 'via-gpg');
      await mkdir(viaGpg);
      const shell = `gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$1" -d "$2" | zstd -d | tar -x -C "$3"`;
      const decrypted = await run('/bin/sh', ['-c', shell, 'sh', passphrase, stored, viaGpg], { env: { ...env, GNUPGHOME: gpg.home } });
      expect(decrypted.code, decrypted.stderr).toBe(0);
      expect(await describeTree(join(viaGpg, 'tree'))).toEqual(await describeTree(join(data, 'tree')));
    });
  });
});

const installAllowed = process.env.CI === 'true' || process.env.BACKUP_TEST_INSTALL === '1';
const installTitle = 'Debian package: lintian, install, quickstart as backups, systemd-analyze, upgrade, purge';

releaseBuilt('release/backup-runner_*_amd64.deb', debFile, 'Debian package', () => {
  if (!installAllowed || process.getuid?.() !== 0) {
    console.warn(`SKIP ${installTitle}: installs a package; runs as root under CI=true or with BACKUP_TEST_INSTALL=1`);
    describe.skip(installTitle, () => undefined);
    return;
  }
  describeWith(['dpkg', 'dpkg-deb', 'lintian', 'systemd-analyze', 'runuser', 'adduser', 'man'], installTitle, () => {
    const deb = debFile()!;
    const sys = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive' };
    const sh = (line: string, timeoutMs?: number) => run('/bin/sh', ['-c', line], { env: sys, ...(timeoutMs ? { timeoutMs } : {}) });
    let tmp: { path: string; remove: () => Promise<void> };
    let installedFiles: string[] = [];
    beforeAll(async () => {
      tmp = await makeTempDir('br-deb-');
      await chmod(tmp.path, 0o755);
      // A package left by an interrupted run of this test.
      await sh(`dpkg --purge ${PACKAGE} >/dev/null 2>&1; true`);
    });
    afterAll(async () => {
      await sh(`dpkg --purge ${PACKAGE} >/dev/null 2>&1; rm -rf /etc/${PACKAGE}; true`);
      await tmp?.remove();
    });

    it('lintian reports no errors', async () => {
      const result = await run('lintian', ['--tag-display-limit', '0', deb], { env: sys, timeoutMs: 240_000 });
      const errors = result.stdout.split('\n').filter((l) => l.startsWith('E:'));
      expect(errors, result.stdout).toEqual([]);
    }, 300_000);

    it('installs: /usr/bin/backup, the backups user, /etc/backup-runner 0700, units, man page', async () => {
      const install = await sh(`dpkg -i ${deb}`);
      expect(install.code, install.stdout + install.stderr).toBe(0);
      installedFiles = (await sh(`dpkg -L ${PACKAGE}`)).stdout.split('\n').filter(Boolean);
      for (const file of ['/usr/bin/backup', '/lib/systemd/system/backup-runner@.service', '/etc/cron.d/backup-runner', '/usr/sbin/vzdump-backup-runner']) {
        expect(installedFiles).toContain(file);
      }
      expect((await sh('getent passwd backups')).stdout).toMatch(/^backups:x:\d+:\d+:.*:\/usr\/sbin\/nologin$/m);
      const etc = await stat(`/etc/${PACKAGE}`);
      expect((etc.mode & 0o777).toString(8)).toBe('700');
      expect((await sh('id -u backups')).stdout.trim()).toBe(String(etc.uid));
      expect((await sh('man -w backup')).stdout.trim()).toBe('/usr/share/man/man1/backup.1.gz');
      expect(await readFile('/lib/systemd/system/backup-runner@.service', 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/backup run /m);
      expect(await readFile('/usr/sbin/vzdump-backup-runner', 'utf8')).toContain('"$cli" vzdump-hook "$job"');
      // The cron file is there but does nothing until a line is uncommented.
      const cron = (await readFile('/etc/cron.d/backup-runner', 'utf8')).split('\n');
      expect(cron.filter((l) => /^\s*[0-9*@]/.test(l))).toEqual([]);
      expect(cron.some((l) => l.startsWith('#0    2') && l.includes('/usr/bin/backup'))).toBe(true);
    }, 120_000);

    it('bash completion loads (generated at build time from `backup completion bash`)', async () => {
      const file = '/usr/share/bash-completion/completions/backup';
      expect(installedFiles).toContain(file);
      const result = await run('bash', ['-c', `source ${file} && complete -p backup`], { env: sys });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^complete .* backup$/m);
    });

    it('runs quickstart as the backups user', async () => {
      const cwd = join(tmp.path, 'qs');
      await mkdir(cwd);
      const uid = Number((await sh('id -u backups')).stdout.trim());
      const gid = Number((await sh('id -g backups')).stdout.trim());
      await chown(cwd, uid, gid);
      const result = await run('runuser', ['-u', 'backups', '--', 'env', '-i', 'PATH=/usr/bin:/bin', 'backup', 'quickstart'], { env: sys, cwd });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(': identical.');
    });

    it('the sample job validates once its passphrase exists', async () => {
      const job = await sh(
        `cd /etc/${PACKAGE} && install -m 0600 -o backups -g backups nightly.json.sample nightly.json && ` +
          `head -c 32 /dev/urandom | base64 > passphrase && chown backups:backups passphrase && chmod 0600 passphrase && ` +
          `runuser -u backups -- backup validate /etc/${PACKAGE}/nightly.json`,
      );
      expect(job.code, job.stdout + job.stderr).toBe(0);
      expect(job.stdout).toContain('OK');
    });

    it('systemd-analyze verifies the installed units (and finds man:backup(1))', async () => {
      const units = ['backup-runner@nightly.service', 'backup-runner@nightly.timer', 'backup-runner-check@nightly.service', 'backup-runner-check@nightly.timer'];
      const result = await run('systemd-analyze', ['verify', ...units], { env: sys });
      expect(result.stdout + result.stderr).toBe('');
      expect(result.code).toBe(0);
    });

    it('upgrades to a newer version, keeping the job files and the user', async () => {
      // The same package as version -2 (no compression: quick).
      const tree = join(tmp.path, 'newer');
      const newer = join(tmp.path, 'newer.deb');
      const repack = await sh(
        `dpkg-deb -R ${deb} ${tree} && sed -i 's/^Version: \\(.*\\)-1$/Version: \\1-2/' ${tree}/DEBIAN/control && ` +
          `dpkg-deb --root-owner-group -Znone -b ${tree} ${newer} >/dev/null && dpkg -i ${newer}`,
        180_000,
      );
      expect(repack.code, repack.stdout + repack.stderr).toBe(0);
      expect((await sh(`dpkg-query -W -f '\${Version} \${Status}' ${PACKAGE}`)).stdout).toMatch(/-2 install ok installed$/);
      expect(existsSync(`/etc/${PACKAGE}/nightly.json`)).toBe(true);
      expect((await sh('getent passwd backups')).code).toBe(0);
      expect((await run('/usr/bin/backup', ['--version'], { env: sys })).code).toBe(0);
    }, 240_000);

    it('purges: nothing left but the administrator\'s files in /etc/backup-runner and the backups user', async () => {
      const purge = await sh(`dpkg --purge ${PACKAGE}`);
      expect(purge.code, purge.stderr).toBe(0);
      expect((await sh(`dpkg-query -W -f '\${Status}' ${PACKAGE} 2>/dev/null`)).stdout).not.toContain('installed');
      const left: string[] = [];
      for (const file of installedFiles) {
        const info = await stat(file).catch(() => undefined);
        if (info && !info.isDirectory()) left.push(file);
      }
      expect(left).toEqual([]);
      expect(existsSync('/var/lib/backup-runner')).toBe(false);
      for (const dir of [`/usr/lib/${PACKAGE}`, `/usr/share/doc/${PACKAGE}`]) expect(existsSync(dir)).toBe(false);
      // Kept by choice (deploy/debian/postrm): the job file and passphrase the administrator added, the user.
      expect((await readdir(`/etc/${PACKAGE}`)).sort()).toEqual(['nightly.json', 'passphrase']);
      expect((await sh('getent passwd backups')).code).toBe(0);
      await rm(`/etc/${PACKAGE}`, { recursive: true, force: true });
    });
  });
});
