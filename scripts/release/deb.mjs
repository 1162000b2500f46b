/**
 * The Debian package of the single executable, built with dpkg-deb from deploy/debian/:
 *   /usr/bin/backup                          the executable
 *   /etc/backup-runner/ (0700)               nightly.json.sample (conffile)
 *   /etc/cron.d/backup-runner                deploy/cron, every schedule line commented out (conffile)
 *   /lib/systemd/system/                     deploy/systemd units, not enabled
 *   /usr/sbin/vzdump-backup-runner           the Proxmox VE hook wrapper (deploy/proxmox)
 *   /usr/share/man/man1/backup.1.gz          generated from this executable's help
 *   /usr/share/bash-completion/completions/backup   from `backup completion bash` (when the CLI has it)
 *   /usr/share/doc/backup-runner/            README.Debian, copyright, README, job-file reference, examples
 * The "backups" user is created by postinst; postrm documents what purge keeps.
 * deploy/ calls /usr/local/bin/backup (npm install -g): the packaged copies call /usr/bin/backup.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { renderManPage } from './man.mjs';

const PACKAGE = 'backup-runner';

/** deploy/ files name the npm install's paths; the package's are these. */
function packagedPaths(text, file) {
  if (!text.includes('/usr/local/bin/backup')) throw new Error(`${file}: no /usr/local/bin/backup to point at /usr/bin/backup; update scripts/release/deb.mjs`);
  return text
    .replaceAll('/usr/local/bin/backup', '/usr/bin/backup')
    .replaceAll('file:///usr/local/lib/node_modules/backup-runner/README.md', `file:///usr/share/doc/${PACKAGE}/README.md`);
}

/** The cron file left disabled: each schedule line commented out, with a note on top. */
function disabledCron(text) {
  const lines = text.split('\n').map((line) => (/^\s*[0-9*@]/.test(line) ? `#${line}` : line));
  const note = `# Installed by the ${PACKAGE} package with every line commented out: uncomment what you need.\n# (Or use the systemd timers: systemctl enable --now backup-runner@nightly.timer.)\n`;
  return note + lines.join('\n');
}

function put(stage, path, content, mode = 0o644) {
  const target = join(stage, path);
  mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
  writeFileSync(target, content);
  chmodSync(target, mode);
}

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Builds release/backup-runner_<version>-1_amd64.deb; returns its path. */
export async function buildDeb({ root, build, executable, out }) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const version = `${pkg.version}-1`;
  const debian = join(root, 'deploy/debian');
  const stage = join(build, 'deb');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true, mode: 0o755 });
  chmodSync(stage, 0o755);
  const doc = `usr/share/doc/${PACKAGE}`;

  put(stage, 'usr/bin/backup', readFileSync(executable), 0o755);
  put(stage, 'usr/sbin/vzdump-backup-runner', readFileSync(join(root, 'deploy/proxmox/vzdump-backup-runner')), 0o755);
  put(stage, `etc/${PACKAGE}/nightly.json.sample`, readFileSync(join(debian, 'nightly.json.sample')));
  chmodSync(join(stage, 'etc', PACKAGE), 0o700);
  put(stage, `etc/cron.d/${PACKAGE}`, disabledCron(packagedPaths(readFileSync(join(root, 'deploy/cron/backup-runner'), 'utf8'), 'deploy/cron/backup-runner')));
  for (const unit of readdirSync(join(root, 'deploy/systemd')).filter((f) => /\.(service|timer)$/.test(f))) {
    const text = readFileSync(join(root, 'deploy/systemd', unit), 'utf8');
    put(stage, `lib/systemd/system/${unit}`, unit.endsWith('.service') ? packagedPaths(text, `deploy/systemd/${unit}`) : text);
  }

  // The man page of this very executable (docs/backup.1 is the same when it is in step).
  const page = await renderManPage({ cli: [executable] });
  if (page !== readFileSync(join(root, 'docs/backup.1'), 'utf8')) console.warn('release: docs/backup.1 is not in step with the CLI help (npm run build && npm run man); the package gets the fresh one');
  put(stage, 'usr/share/man/man1/backup.1.gz', gzipSync(page, { level: 9 }));

  // Bash completion from the CLI itself, when it has the command (skipped with a note otherwise).
  const completion = spawnSync(executable, ['completion', 'bash'], { env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
  if (completion.status === 0 && /\bcomplete\b/.test(completion.stdout)) put(stage, 'usr/share/bash-completion/completions/backup', completion.stdout);
  else console.warn(`release: no bash completion in the package: \`backup completion bash\` exited ${completion.status}: ${completion.stderr.split('\n')[0]}`);

  put(stage, `usr/share/lintian/overrides/${PACKAGE}`, readFileSync(join(debian, 'lintian-overrides')));
  put(stage, `${doc}/copyright`, readFileSync(join(debian, 'copyright')));
  put(stage, `${doc}/changelog.Debian.gz`, gzipSync(readFileSync(join(debian, 'changelog'), 'utf8').replaceAll('@VERSION@', version), { level: 9 }));
  put(stage, `${doc}/README.Debian`, readFileSync(join(debian, 'README.Debian')));
  put(stage, `${doc}/README.md`, readFileSync(join(root, 'README.md')));
  put(stage, `${doc}/job-file.md`, readFileSync(join(root, 'docs/job-file.md')));
  put(stage, `${doc}/operations.md`, readFileSync(join(root, 'deploy/README.md')));
  put(stage, `${doc}/vzdump.md`, readFileSync(join(root, 'src/vzdump/README.md')));
  cpSync(join(root, 'examples'), join(stage, doc, 'examples'), { recursive: true });

  // Modes are the package's, whatever the checkout's umask: folders 0755, files 0644, scripts 0755.
  for (const file of walk(stage)) {
    const rel = relative(stage, file);
    if (!['usr/bin/backup', 'usr/sbin/vzdump-backup-runner'].includes(rel)) chmodSync(file, 0o644);
  }
  const dirs = (dir) => readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => [join(dir, e.name), ...dirs(join(dir, e.name))]);
  for (const dir of dirs(stage)) chmodSync(dir, relative(stage, dir) === `etc/${PACKAGE}` ? 0o700 : 0o755);

  const files = walk(stage);
  const installedKb = files.reduce((sum, f) => sum + Math.ceil(statSync(f).size / 1024), 0) + dirs(stage).length;
  const control = join(stage, 'DEBIAN');
  mkdirSync(control, { mode: 0o755 });
  put(stage, 'DEBIAN/control', readFileSync(join(debian, 'control'), 'utf8').replaceAll('@VERSION@', version).replaceAll('@INSTALLED_SIZE@', String(installedKb)));
  put(stage, 'DEBIAN/conffiles', [`/etc/${PACKAGE}/nightly.json.sample`, `/etc/cron.d/${PACKAGE}`].join('\n') + '\n');
  put(stage, 'DEBIAN/md5sums', files.map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(stage, f)}\n`).join(''));
  for (const script of ['postinst', 'prerm', 'postrm']) put(stage, `DEBIAN/${script}`, readFileSync(join(debian, script)), 0o755);

  const deb = join(out, `${PACKAGE}_${version}_amd64.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', stage, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
  return deb;
}
