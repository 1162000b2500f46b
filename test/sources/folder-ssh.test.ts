import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { folderSshSource } from '../../src/sources/folder-ssh/index.js';
import type { Artifact, Source, SourceContext } from '../../src/sources/types.js';
import { SourceError } from '../../src/errors.js';
import { describeWith } from '../support/binaries.js';
import { runCli } from '../support/cli.js';
import { startSshd, type SshdServer } from '../support/sshd.js';
import { describeTree } from '../support/tree.js';
import { makeTempDir } from '../support/tmp.js';
import { writeJob } from '../support/jobs.js';

const job = { path: '/job.json', name: 'job', hostname: 'host' };

async function makeSource(sshd: SshdServer, extra: Record<string, unknown>): Promise<Source> {
  const options = folderSshSource.options.parse({
    sshhost: sshd.host,
    sshport: sshd.port,
    sshuser: sshd.user,
    identity_file: sshd.identityFile,
    known_hosts: sshd.knownHostsFile,
    ...extra,
  });
  return (await folderSshSource.create({ id: 'files', type: 'folder-ssh', ...options } as never, { job, logger: silentLogger })) as Source;
}

function context(tmpdir: string, signal = new AbortController().signal): SourceContext {
  return { job, tmpdir, logger: silentLogger, signal };
}

async function collect(artifact: Artifact): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of artifact.stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Runs the source to the end: every artifact's bytes and what its `done` said. */
async function dump(source: Source, ctx: SourceContext): Promise<{ name: string; data: Buffer; error?: unknown; warnings: string[] }[]> {
  const out = [];
  try {
    for await (const artifact of source.open(ctx)) {
      const data = await collect(artifact);
      const error = await artifact.done.then(
        () => undefined,
        (e: unknown) => e,
      );
      out.push({ name: artifact.name, data, error, warnings: artifact.warnings ?? [] });
    }
  } finally {
    await source.cleanup?.(ctx);
  }
  return out;
}

/** A tree with the awkward cases: modes, spaces and quotes in names, binary, empty, symlink, excluded bits. */
function buildTree(root: string): void {
  mkdirSync(join(root, 'sub dir/deeper'), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true });
  writeFileSync(join(root, 'plain.txt'), 'hello\n');
  writeFileSync(join(root, "it's a file.txt"), 'quoted name\n');
  writeFileSync(join(root, 'sub dir/deeper/binary.bin'), Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 256)));
  writeFileSync(join(root, 'sub dir/empty'), '');
  writeFileSync(join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(root, 'run.sh'), 0o750);
  writeFileSync(join(root, 'secret.key'), 'k');
  chmodSync(join(root, 'secret.key'), 0o600);
  chmodSync(join(root, 'sub dir'), 0o710);
  symlinkSync('plain.txt', join(root, 'link-to-plain'));
  writeFileSync(join(root, 'tmp/cache.bin'), 'excluded');
  writeFileSync(join(root, 'notes.txt~'), 'backup file, excluded');
}

describeWith(['sshd', 'ssh-keygen', 'tar'], 'folder-ssh source', () => {
  let sshd: SshdServer;
  let work: { path: string; remove: () => Promise<void> };
  let tree: string;

  beforeAll(async () => {
    sshd = await startSshd();
    work = await makeTempDir();
    tree = join(work.path, 'data');
    mkdirSync(tree);
    buildTree(tree);
  });

  afterAll(async () => {
    await sshd?.stop();
    await work?.remove();
  });

  /** The source tree as it should come back: everything but the excluded entries. */
  async function expectedTree(): Promise<Record<string, string>> {
    const expected = await describeTree(tree);
    for (const excluded of ['tmp', 'tmp/cache.bin', 'notes.txt~']) {
      expect(expected[excluded]).toBeDefined();
      delete expected[excluded];
    }
    return expected;
  }

  it('streams a tar of the remote folder that extracts to the identical tree, excludes honoured', async () => {
    const source = await makeSource(sshd, { path: tree, excludes: ['tmp', '*~'] });
    const [artifact, ...rest] = await dump(source, context(work.path));
    expect(rest).toEqual([]);
    expect(artifact!.name).toBe('files.tar');
    expect(artifact!.error).toBeUndefined();
    const out = join(work.path, 'extract-1');
    mkdirSync(out);
    execFileSync('tar', ['-xpf', '-', '-C', out], { input: artifact!.data });
    expect(readdirSync(out)).toEqual(['data']);
    expect(await describeTree(join(out, 'data'))).toEqual(await expectedTree());
  });

  it('archives the folder a path that is a symbolic link points to, under its own name', async () => {
    // tar alone would store the link itself: every run one link and no file, reported as success.
    const link = join(work.path, 'link-to-data');
    symlinkSync(tree, link);
    const [artifact] = await dump(await makeSource(sshd, { path: link, excludes: ['tmp', '*~'] }), context(work.path));
    expect(artifact!.error).toBeUndefined();
    const out = join(work.path, 'extract-link');
    mkdirSync(out);
    execFileSync('tar', ['-xpf', '-', '-C', out], { input: artifact!.data });
    expect(readdirSync(out)).toEqual(['data']);
    expect(await describeTree(join(out, 'data'))).toEqual(await expectedTree());
  });

  it('warns about an empty folder (what an unmounted mount point looks like); a folder with files has no warning', async () => {
    const empty = join(work.path, 'mnt-empty');
    mkdirSync(empty);
    const [artifact] = await dump(await makeSource(sshd, { path: empty }), context(work.path));
    expect(artifact!.error).toBeUndefined();
    expect(artifact!.warnings).toEqual([expect.stringMatching(/mnt-empty on .*127\.0\.0\.1:\d+ is an empty folder: the run stores no file of it/)]);
    const [full] = await dump(await makeSource(sshd, { path: tree }), context(work.path));
    expect(full!.warnings).toEqual([]);
  });

  it('rejects done when the remote tar fails, even after it wrote output', async () => {
    // A "tar" that writes part of an archive and then exits 2, as a tar hitting an I/O error does.
    const fake = join(sshd.dir, 'failing-tar');
    writeFileSync(fake, '#!/bin/sh\nhead -c 20000 /dev/zero\necho "tar: ./data/x: Read error at byte 0: Input/output error" >&2\nexit 2\n', { mode: 0o755 });
    const source = await makeSource(sshd, { path: tree, tar_command: fake });
    const [artifact] = await dump(source, context(work.path));
    expect(artifact!.data.length).toBe(20000);
    expect(artifact!.error).toBeInstanceOf(SourceError);
    const error = artifact!.error as SourceError;
    expect(error.message).toMatch(/tar on .*127\.0\.0\.1:\d+ exited 2/);
    expect(error.exitCode).toBe(2);
    expect(error.stderrTail).toContain('Input/output error');
    expect(error.plugin).toBe('files');
  });

  it('treats tar exit 1 as a warning, as the local folder source does', async () => {
    const fake = join(sshd.dir, 'warning-tar');
    writeFileSync(fake, '#!/bin/sh\nprintf data\necho "tar: ./data: file changed as we read it" >&2\nexit 1\n', { mode: 0o755 });
    const [artifact] = await dump(await makeSource(sshd, { path: tree, tar_command: fake }), context(work.path));
    expect(artifact!.error).toBeUndefined();
    expect(artifact!.warnings.join('\n')).toMatch(/exited 1: .*file changed as we read it/);
  });

  it('fails for a missing path: check() says so, and the dump rejects', async () => {
    const source = await makeSource(sshd, { path: join(work.path, 'no-such-folder') });
    await expect(source.check!(context(work.path))).rejects.toThrow(/no-such-folder does not exist on .* or is not readable/);
    const [artifact] = await dump(source, context(work.path));
    expect(artifact!.error).toBeInstanceOf(SourceError);
    expect((artifact!.error as SourceError).stderrTail).toMatch(/No such file or directory/);
  });

  it('with sudo, runs nothing through sudo but tar (the documented sudoers rule): check, dump, and the symlink and empty-folder looks', async () => {
    // A sudo that allows tar alone, as `backups ALL=(root) NOPASSWD: /bin/tar` does, and logs every call.
    const bin = join(work.path, 'sudo-bin');
    mkdirSync(bin);
    const log = join(work.path, 'sudo.log');
    writeFileSync(join(bin, 'sudo'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n[ "$1" = "-n" ] && shift\ncase "$1" in tar|*/tar) exec "$@" ;; esac\necho "sudo: a password is required" >&2\nexit 1\n`, { mode: 0o755 });
    const sudoSshd = await startSshd({ pathPrepend: [bin] });
    try {
      const source = await makeSource(sudoSshd, { path: tree, sudo: 1, excludes: ['tmp', '*~'] });
      await source.check!(context(work.path));
      const [artifact] = await dump(source, context(work.path));
      expect(artifact!.error).toBeUndefined();
      const out = join(work.path, 'extract-sudo');
      mkdirSync(out);
      execFileSync('tar', ['-xpf', '-', '-C', out], { input: artifact!.data });
      expect(await describeTree(join(out, 'data'))).toEqual(await expectedTree());
      const calls = readFileSync(log, 'utf8').trim().split('\n');
      expect(calls.map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(['-n tar', '-n tar']);
    } finally {
      await sudoSshd.stop();
    }
  });

  it('stops the remote tar when the run is aborted', async () => {
    const controller = new AbortController();
    const fake = join(sshd.dir, 'endless-tar');
    writeFileSync(fake, '#!/bin/sh\nexec cat /dev/zero\n', { mode: 0o755 });
    const source = await makeSource(sshd, { path: tree, tar_command: fake });
    const ctx = context(work.path, controller.signal);
    const iterator = source.open(ctx)[Symbol.asyncIterator]();
    const { value: artifact } = await iterator.next();
    let bytes = 0;
    (artifact as Artifact).stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > 1_000_000) controller.abort();
    });
    await expect((artifact as Artifact).done).rejects.toThrow(/aborted/);
    await source.cleanup?.(ctx);
  });

  it('refuses an unknown host key and says how to accept it', async () => {
    const knownHosts = join(work.path, 'known_hosts_other');
    writeFileSync(knownHosts, `[127.0.0.1]:1 ${sshd.hostKeyPublic}\nexample.org ${sshd.hostKeyPublic}\n`);
    const source = await makeSource(sshd, { path: tree, known_hosts: knownHosts });
    const error = await source.check!(context(work.path)).then(
      () => undefined,
      (e: unknown) => e as SourceError,
    );
    expect(error).toBeInstanceOf(SourceError);
    expect(error!.message).toContain(`host key of [127.0.0.1]:${sshd.port} (ssh-ed25519 SHA256:`);
    expect(error!.message).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${knownHosts}`);
    expect(error!.describe()).toMatch(/^source files: /);
  });

  it('refuses a changed host key as a possible interception', async () => {
    const knownHosts = join(work.path, 'known_hosts_changed');
    const otherKey = join(work.path, 'other_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const other = readFileSync(`${otherKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${other}\n`);
    const source = await makeSource(sshd, { path: tree, known_hosts: knownHosts });
    await expect(source.check!(context(work.path))).rejects.toThrow(/HOST KEY MISMATCH for \[127\.0\.0\.1\]:\d+.*ssh-keygen -R/);
  });

  it('accepts a hashed known_hosts entry (ssh-keygen -H)', async () => {
    const knownHosts = join(work.path, 'known_hosts_hashed');
    writeFileSync(knownHosts, readFileSync(sshd.knownHostsFile));
    execFileSync('ssh-keygen', ['-q', '-H', '-f', knownHosts], { stdio: 'ignore' });
    expect(readFileSync(knownHosts, 'utf8')).toMatch(/^\|1\|/);
    await (await makeSource(sshd, { path: tree, known_hosts: knownHosts })).check!(context(work.path));
  });

  it('reports a refused login clearly, without any secret', async () => {
    const wrongKey = join(work.path, 'wrong_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrongKey]);
    const source = await makeSource(sshd, { path: tree, identity_file: wrongKey, ssh_password: 'not-the-password-xyz' });
    const error = await source.check!(context(work.path)).then(
      () => undefined,
      (e: unknown) => e as SourceError,
    );
    expect(error?.message).toMatch(/SSH login as .*@127\.0\.0\.1:\d+ failed \(tried key .*wrong_key, password\)/);
    expect(error?.message).not.toContain('not-the-password-xyz');
  });

  it('reports a closed port clearly', async () => {
    const source = await makeSource(sshd, { path: tree, sshport: 1 });
    await expect(source.check!(context(work.path))).rejects.toThrow(/cannot connect to 127\.0\.0\.1:1: connection refused/);
  });

  it('explains a passphrase-protected identity file', async () => {
    const locked = join(work.path, 'locked_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'lock-phrase', '-f', locked]);
    await expect((await makeSource(sshd, { path: tree, identity_file: locked })).check!(context(work.path))).rejects.toThrow(/protected by a passphrase.*ssh-agent/);
  });

  describe('end to end through the CLI', () => {
    it('backs up through the runner and restores the identical tree with restore --extract', async () => {
      const store = join(work.path, 'store');
      const jobPath = join(work.path, 'folder-ssh-job.json');
      await writeJob(work.path, {
          hostname: 'h',
          sources: [
            {
              id: 'files',
              type: 'folder-ssh',
              sshhost: sshd.host,
              sshport: sshd.port,
              sshuser: sshd.user,
              identity_file: sshd.identityFile,
              known_hosts: sshd.knownHostsFile,
              path: tree,
              excludes: ['tmp', '*~'],
              passphrase: 'folder-ssh-e2e-passphrase',
            },
          ],
          destinations: [{ id: 'disk', type: 'local', path: store, create: 1 }],
          notifications: [],
        }, 'folder-ssh-job.json');
      mkdirSync(join(work.path, 'tmp'), { recursive: true });
      const run = await runCli(['run', jobPath]);
      expect(run.code, run.stderr).toBe(0);
      const out = join(work.path, 'restored');
      const restore = await runCli(['restore', jobPath, '--source', 'files', '--to', out, '--extract']);
      expect(restore.code, restore.stderr).toBe(0);
      expect(readdirSync(out)).toEqual(['data']);
      expect(await describeTree(join(out, 'data'))).toEqual(await expectedTree());
    }, 120_000);
  });
});
