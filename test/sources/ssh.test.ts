/** The shared SSH transport's pure parts: known_hosts matching, shell quoting, the credentials wrapper. */
import { execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnownHosts, fingerprint, keyTypeOf, knownHostsName, patternsMatch } from '../../src/lib/ssh/known-hosts.js';
import { shellCommand, shellQuote } from '../../src/lib/shell-words.js';
import { remoteScript } from '../../src/sources/ssh/remote-secret.js';
import { findBinary } from '../support/binaries.js';
import { makeTempDir } from '../support/tmp.js';

/** Processes whose command line contains `marker` (from /proc). */
function processesWith(marker: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmdline.includes(marker)) found.push(`${entry}: ${cmdline}`);
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

/**
 * Whether the credentials wrapper `pid` has started its body and its stdin watcher (two child
 * shells) and sleeps in `wait` for the body: its setup is over, both their pids are in its
 * variables. A signal before that lands in the script's setup, which this test is not about.
 */
function wrapperWaiting(pid: number): boolean {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return ''; // ended meanwhile
    }
  };
  const children = readdirSync('/proc').filter((entry) => {
    const stat = /^\d+$/.test(entry) ? read(`/proc/${entry}/stat`) : '';
    return stat !== '' && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
  });
  return children.length >= 2 && /^(sigsuspend|do_wait|kernel_wait)/.test(read(`/proc/${pid}/wchan`));
}

function keyBlob(type: string, body: Buffer): Buffer {
  const name = Buffer.from(type);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  return Buffer.concat([length, name, body]);
}

describe('known_hosts matching', () => {
  let dir: { path: string; remove: () => Promise<void> };
  const ed = keyBlob('ssh-ed25519', randomBytes(36));
  const rsa = keyBlob('ssh-rsa', randomBytes(64));
  const other = keyBlob('ssh-ed25519', randomBytes(36));

  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('names hosts as ssh does', () => {
    expect(knownHostsName('db.example.org', 22)).toBe('db.example.org');
    expect(knownHostsName('10.0.0.5', 2222)).toBe('[10.0.0.5]:2222');
  });

  it('matches lists, wildcards, negations and hashed names', () => {
    expect(patternsMatch('a.example.org,b.example.org', 'b.example.org')).toBe(true);
    expect(patternsMatch('*.example.org', 'db.example.org')).toBe(true);
    expect(patternsMatch('*.example.org,!db.example.org', 'db.example.org')).toBe(false);
    expect(patternsMatch('db?.example.org', 'db1.example.org')).toBe(true);
    expect(patternsMatch('[10.0.0.5]:2222', '[10.0.0.5]:2222')).toBe(true);
    expect(patternsMatch('10.0.0.5', '[10.0.0.5]:2222')).toBe(false);
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[h.example]:2200').digest('base64')}`;
    expect(patternsMatch(hashed, '[h.example]:2200')).toBe(true);
    expect(patternsMatch(hashed, 'h.example')).toBe(false);
  });

  it('accepts the known key, refuses unknown, changed and revoked ones, and prefers known key types', () => {
    const file = join(dir.path, 'known_hosts');
    writeFileSync(
      file,
      [
        '# comment',
        `db.example.org ssh-rsa ${rsa.toString('base64')}`,
        `[db.example.org]:2222 ssh-ed25519 ${ed.toString('base64')} comment`,
        `@revoked * ssh-ed25519 ${other.toString('base64')}`,
        `@cert-authority *.example.org ssh-ed25519 ${other.toString('base64')}`,
        '',
      ].join('\n'),
    );
    const known = new KnownHosts([file], file, true);
    expect(known.verify('db.example.org', 22, rsa)).toEqual({ ok: true });
    expect(known.verify('db.example.org', 2222, ed)).toEqual({ ok: true });
    expect(known.verify('db.example.org', 2222, rsa).problem).toMatch(/HOST KEY MISMATCH for \[db\.example\.org\]:2222: the server offered ssh-rsa SHA256:.*known_hosts:3/);
    expect(known.verify('new.example.org', 22, ed).problem).toMatch(new RegExp(`not in ${file}.*ssh-keyscan new\\.example\\.org >> ${file}$`));
    expect(known.verify('db.example.org', 22, other).problem).toMatch(/marked @revoked/);
    expect(known.preferredAlgorithms('db.example.org', 22).slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(known.preferredAlgorithms('db.example.org', 2222)[0]).toBe('ssh-ed25519');
    expect(keyTypeOf(ed)).toBe('ssh-ed25519');
    expect(fingerprint(ed)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('skips a missing default file but refuses a missing required one', () => {
    expect(() => new KnownHosts([join(dir.path, 'none')], 'x', false)).not.toThrow();
    expect(() => new KnownHosts([join(dir.path, 'none')], 'x', true)).toThrow(/cannot read known_hosts file/);
  });
});

describe('remote shell quoting', () => {
  it('passes any word through sh unchanged', () => {
    const words = ['plain', "it's", 'a b', '=ls', '$HOME', '`id`', '"q"', 'back\\slash', '*', 'new\nline', '', '--exclude=*~', 'ü✓'];
    const out = execFileSync('sh', ['-c', `for a in ${shellCommand(words)}; do printf '%s\\0' "$a"; done`]).toString();
    expect(out.split('\0').slice(0, -1)).toEqual(words);
    expect(shellQuote('/dev/vg0/data-backup-20240101000000')).toBe('/dev/vg0/data-backup-20240101000000');
    expect(shellQuote('=ls')).toBe("'=ls'");
  });
});

/** Runs a wrapper locally as sshd would, the secret on stdin, stdin held open until `endStdin()` or the wrapper's exit. */
function runWrapper(command: string, stdin: Buffer | string | undefined, shell = 'sh') {
  // The login shell runs the command line; `exec` makes the child the wrapper itself.
  const child = spawn(shell, ['-c', `exec ${command}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const status = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  if (stdin !== undefined) child.stdin.write(stdin);
  // As the client does: end stdin only once the command exited.
  child.on('exit', () => child.stdin.end());
  return { status, stdout: () => stdout, stderr: () => stderr, endStdin: () => child.stdin.end() };
}

async function waitFor(check: () => boolean, explain: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${explain()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The promise's value, or a failure after the deadline. */
async function within<T>(promise: Promise<T>, timeoutMs = 10_000): Promise<T> {
  let result: { value: T } | undefined;
  void promise.then((value) => (result = { value }));
  await waitFor(
    () => result !== undefined,
    () => 'the wrapper did not end',
    timeoutMs,
  );
  return result!.value;
}

describe('credentials wrapper', () => {
  it('hands the secret to the command in a private file that is gone afterwards, keeping the exit status', async () => {
    const dir = await makeTempDir();
    try {
      const secret = `[client]\npassword="x'y\\"z $(id) \`id\` ✓"\n`;
      const seen = join(dir.path, 'seen');
      const script = remoteScript(`cp "$f" ${seen}; stat -c %a "$f" >> ${seen}.mode; echo "$f" > ${seen}.path; echo out; exit 3`, secret);
      expect(script.command).not.toContain('password');
      const run = runWrapper(script.command, script.stdin);
      expect(await run.status).toBe(3);
      expect(run.stdout()).toBe('out\n');
      expect(readFileSync(seen, 'utf8')).toBe(secret);
      expect(readFileSync(`${seen}.mode`, 'utf8').trim()).toBe('600');
      expect(existsSync(readFileSync(`${seen}.path`, 'utf8').trim())).toBe(false);
    } finally {
      await dir.remove();
    }
  });

  it('refuses to run the command when the secret arrives incomplete', async () => {
    const script = remoteScript('echo ran', 'a secret of some length');
    const run = runWrapper(script.command, 'a secret');
    run.endStdin();
    expect(await run.status).toBe(125);
    expect(run.stdout()).toBe('');
    expect(run.stderr()).toMatch(/did not arrive whole/);
  });

  // bash, unlike dash, forks the last command of a background list: the dumper is then a child of the body's shell.
  for (const shell of ['sh', 'bash'].filter((name) => findBinary(name))) {
    it(`stops a silent command and removes the file at end-of-file on stdin (${shell})`, async () => {
      const seconds = `38.${randomInt(100_000, 999_999)}`;
      const script = remoteScript(`echo "$f" >&2; x=1; sleep ${seconds}`, 'secret');
      const run = runWrapper(script.command, script.stdin, shell);
      await waitFor(
        () => run.stderr().includes('\n') && processesWith(`sleep ${seconds}`).length > 0,
        () => `not started: ${run.stderr()}`,
      );
      const path = run.stderr().trim();
      expect(existsSync(path)).toBe(true);
      run.endStdin();
      expect(await within(run.status)).toBe(143);
      expect(existsSync(path)).toBe(false);
      await waitFor(
        () => processesWith(seconds).length === 0,
        () => `left: ${processesWith(seconds).join(' | ')}`,
      );
    });
  }

  it('stops the command and removes the file on HUP, INT and TERM', async () => {
    const dir = await makeTempDir();
    try {
      for (const signal of ['SIGHUP', 'SIGINT', 'SIGTERM'] as const) {
        const seconds = `38.${randomInt(100_000, 999_999)}`;
        const script = remoteScript(`echo "$f" >&2; sleep ${seconds}`, 'secret');
        // stdin a FIFO the wrapper holds open itself (Node ends a child's stdin pipe when it exits,
        // which would let the watcher do the work): only the wrapper's own handling can stop the body.
        const fifo = join(dir.path, `stdin-${signal}`);
        execFileSync('mkfifo', [fifo]);
        const fd = openSync(fifo, 'r+');
        writeSync(fd, script.stdin!);
        const child = spawn('sh', ['-c', `exec ${script.command}`], { stdio: [fd, 'ignore', 'pipe'] });
        closeSync(fd);
        let stderr = '';
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const status = new Promise<string>((resolve) => child.on('exit', (code, killedBy) => resolve(`${signal} ${code ?? killedBy}`)));
        try {
          await waitFor(
            () => stderr.includes('\n') && processesWith(`sleep ${seconds}`).length > 0 && wrapperWaiting(child.pid!),
            () => `not started: ${stderr}`,
          );
          child.kill(signal);
          expect(await within(status)).toBe(`${signal} 129`);
          expect(existsSync(stderr.trim())).toBe(false);
          await waitFor(
            () => processesWith(seconds).length === 0,
            () => `${signal} left: ${processesWith(seconds).join(' | ')}`,
          );
        } finally {
          for (const left of processesWith(seconds)) process.kill(Number(left.split(':')[0]), 'SIGKILL');
        }
      }
    } finally {
      await dir.remove();
    }
  });
});
