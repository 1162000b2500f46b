/** The shared SSH transport's pure parts: known_hosts matching, shell quoting, the credentials wrapper. */
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnownHosts, fingerprint, keyTypeOf, knownHostsName, patternsMatch } from '../../src/sources/ssh/known-hosts.js';
import { shellCommand, shellQuote } from '../../src/sources/ssh/remote-command.js';
import { remoteScript } from '../../src/sources/ssh/remote-secret.js';
import { makeTempDir } from '../support/tmp.js';

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

describe('credentials wrapper', () => {
  it('hands the secret to the command in a private file that is gone afterwards, keeping the exit status', async () => {
    const dir = await makeTempDir();
    try {
      const secret = `[client]\npassword="x'y\\"z $(id) \`id\` ✓"\n`;
      const seen = join(dir.path, 'seen');
      const script = remoteScript(`cp "$f" ${seen}; stat -c %a "$f" >> ${seen}.mode; echo "$f" > ${seen}.path; exit 3`, secret);
      expect(script.command).not.toContain('password');
      let status = 0;
      try {
        execFileSync('sh', ['-c', script.command], { input: script.stdin });
      } catch (error) {
        status = (error as { status: number }).status;
      }
      expect(status).toBe(3);
      const { readFileSync } = await import('node:fs');
      expect(readFileSync(seen, 'utf8')).toBe(secret);
      expect(readFileSync(`${seen}.mode`, 'utf8').trim()).toBe('600');
      expect(existsSync(readFileSync(`${seen}.path`, 'utf8').trim())).toBe(false);
    } finally {
      await dir.remove();
    }
  });

  it('refuses to run the command when the secret arrives incomplete', () => {
    const script = remoteScript('echo ran', 'a secret of some length');
    let result: { status: number; stderr: string } = { status: 0, stderr: '' };
    try {
      execFileSync('sh', ['-c', script.command], { input: 'a secret', stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      result = { status: (error as { status: number }).status, stderr: String((error as { stderr: Buffer }).stderr) };
    }
    expect(result.status).toBe(125);
    expect(result.stderr).toMatch(/did not arrive whole/);
  });
});
