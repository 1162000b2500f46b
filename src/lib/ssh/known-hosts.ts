/**
 * OpenSSH known_hosts checking for ssh2, which leaves host key verification to the caller.
 * Strict, as `StrictHostKeyChecking yes`: an unknown host or a changed key refuses the
 * connection with a message that says what to run. Understands plain and hashed (`|1|`)
 * host patterns, `[host]:port`, wildcards, negation and `@revoked`; `@cert-authority`
 * lines are ignored (ssh2 does not verify host certificates).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ServerHostKeyAlgorithm } from 'ssh2';

interface KnownHostLine {
  file: string;
  line: number;
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  keyType: string;
  key: Buffer;
}

export interface HostKeyVerdict {
  ok: boolean;
  /** Why the key was refused, for the operator. */
  problem?: string;
}

/** The name ssh writes in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The command that appends the server's keys to `file`. */
export function keyscanCommand(host: string, port: number, file: string): string {
  return `ssh-keyscan ${port === 22 ? '' : `-p ${port} `}${host} >> ${file}`;
}

/** `SHA256:...` as `ssh-keygen -l` prints it. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type inside an SSH wire-format public key blob (`ssh-ed25519`, `ssh-rsa`...). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString('latin1');
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

function hashedMatches(pattern: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const parts = pattern.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const expected = Buffer.from(parts[3] ?? '', 'base64');
  const actual = createHmac('sha1', salt).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Whether a comma-separated host pattern list names `name`; a matching `!pattern` excludes. */
export function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedMatches(patterns, name);
  let matched = false;
  for (const raw of patterns.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (!pattern || !globToRegExp(pattern).test(name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function parseFile(file: string, text: string): KnownHostLine[] {
  const lines: KnownHostLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/\s+/);
    let marker: KnownHostLine['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostLine['marker'];
    const [patterns, keyType, keyText] = fields;
    if (!patterns || !keyType || !keyText) return;
    lines.push({ file, line: index + 1, marker, patterns, keyType, key: Buffer.from(keyText, 'base64') });
  });
  return lines;
}

/** ssh2's default host key algorithms (lib/protocol/constants.js), most preferred first. */
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

function algorithmsForKeyType(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [keyType];
}

export class KnownHosts {
  private readonly lines: KnownHostLine[];

  /**
   * @param files the known_hosts files to read; missing ones are skipped unless `required`.
   * @param acceptCommandFile the file named in the "how to accept the key" advice.
   */
  constructor(
    readonly files: readonly string[],
    private readonly acceptCommandFile: string,
    required: boolean,
  ) {
    this.lines = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && !required) continue;
        throw new Error(`cannot read known_hosts file ${file} (${code ?? String(error)})`, { cause: error });
      }
      this.lines.push(...parseFile(file, text));
    }
  }

  private entriesFor(host: string, port: number): KnownHostLine[] {
    const name = knownHostsName(host, port);
    return this.lines.filter((l) => patternsMatch(l.patterns, name));
  }

  /**
   * Host key algorithms to offer, the ones known for this host first, so a server with several
   * host keys presents the one on file (as OpenSSH orders them).
   */
  preferredAlgorithms(host: string, port: number): ServerHostKeyAlgorithm[] {
    const known = new Set<string>();
    for (const entry of this.entriesFor(host, port)) {
      if (!entry.marker) for (const a of algorithmsForKeyType(entry.keyType)) known.add(a);
    }
    const first = HOST_KEY_ALGORITHMS.filter((a) => known.has(a));
    return [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !known.has(a))];
  }

  verify(host: string, port: number, key: Buffer): HostKeyVerdict {
    const name = knownHostsName(host, port);
    const entries = this.entriesFor(host, port);
    const offered = `${keyTypeOf(key)} ${fingerprint(key)}`;
    const revoked = entries.find((e) => e.marker === '@revoked' && e.key.equals(key));
    if (revoked) {
      return { ok: false, problem: `the host key of ${name} (${offered}) is marked @revoked in ${revoked.file}:${revoked.line}; refusing to connect` };
    }
    const plain = entries.filter((e) => !e.marker);
    if (plain.some((e) => e.key.equals(key))) return { ok: true };
    const accept = keyscanCommand(host, port, this.acceptCommandFile);
    if (plain.length === 0) {
      return {
        ok: false,
        problem:
          `the host key of ${name} (${offered}) is not in ${this.files.join(' or ')}. ` +
          `Check the fingerprint with the server's administrator (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the server), then accept it with: ${accept}`,
      };
    }
    const where = plain.map((e) => `${e.file}:${e.line}`).join(', ');
    return {
      ok: false,
      problem:
        `HOST KEY MISMATCH for ${name}: the server offered ${offered}, but ${where} holds a different key. ` +
        `Someone may be intercepting the connection, or the server was reinstalled. If the change is expected, ` +
        `remove the old entry with: ssh-keygen -R '${name}' -f ${this.acceptCommandFile}, then accept the new key with: ${accept}`,
    };
  }
}
