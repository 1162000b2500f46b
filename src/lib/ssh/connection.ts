/**
 * One SSH connection (the `ssh2` package, see src/sources/ssh/README.md for why not the system `ssh`):
 * strict host key checking against known_hosts, key / agent / password login, keepalives,
 * and errors that tell the operator what to do. Used by the `*-ssh` sources and by the
 * `sftp` destination. The password never leaves this process except inside the SSH
 * protocol; it is in no argv and no message.
 */
import { readFileSync, existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { AnyAuthMethod, Client, ClientChannel, ConnectConfig } from 'ssh2';
import type { BackupError, BackupErrorOptions } from '../../errors.js';
import { KnownHosts, keyscanCommand } from './known-hosts.js';

/** Builds the layer's error (SourceError, DestinationError) carrying the plugin id. */
export type ErrorFactory = (message: string, options?: BackupErrorOptions) => BackupError;

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  /** Absolute path of a private key. */
  identityFile?: string;
  password?: string;
  /** Absolute path of the known_hosts file; default ~/.ssh/known_hosts + /etc/ssh/ssh_known_hosts. */
  knownHosts?: string;
  connectTimeoutSeconds?: number;
}

const DEFAULT_TIMEOUT_SECONDS = 30;
const KEEPALIVE_MS = 15_000;
const KEEPALIVE_COUNT = 4;

/**
 * Paths in the job file are taken relative to the job file's folder, as `_file` secrets are.
 * `job.path` is the job file's absolute path, or `<embedded>` (then the current folder).
 */
export function jobRelativePath(path: string, job: { path: string }): string {
  if (isAbsolute(path)) return path;
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  const base = job.path === '<embedded>' ? process.cwd() : dirname(job.path);
  return resolve(base, path);
}

/** A login as a job file gives it: paths relative to the job file, the current user by default. */
export interface SshLogin {
  host: string;
  port: number;
  user?: string;
  identityFile?: string;
  password?: string;
  knownHosts?: string;
  connectTimeoutSeconds?: number;
}

/** Where and how to log in, from a job file's login settings. */
export function sshTargetOf(login: SshLogin, job: { path: string }): SshTarget {
  return {
    host: login.host,
    port: login.port,
    username: login.user ?? userInfo().username,
    identityFile: login.identityFile ? jobRelativePath(login.identityFile, job) : undefined,
    password: login.password,
    knownHosts: login.knownHosts ? jobRelativePath(login.knownHosts, job) : undefined,
    connectTimeoutSeconds: login.connectTimeoutSeconds,
  };
}

export function describeTarget(target: SshTarget): string {
  return `${target.username}@${target.host}${target.port === 22 ? '' : `:${target.port}`}`;
}

interface AuthPlan {
  methods: AnyAuthMethod[];
  /** What was tried, for the "login failed" message (never the secret). */
  tried: string[];
}

/**
 * ssh2 is CommonJS: Node's ESM loader exposes only the names its lexer detects (not `utils`),
 * so the module object is taken from `default` when there is one (vitest exposes both).
 */
export async function loadSsh2(): Promise<typeof import('ssh2')> {
  const module = (await import('ssh2')) as typeof import('ssh2') & { default?: typeof import('ssh2') };
  return module.default ?? module;
}

async function planAuth(target: SshTarget, fail: ErrorFactory): Promise<AuthPlan> {
  const { utils } = await loadSsh2();
  const methods: AnyAuthMethod[] = [];
  const tried: string[] = [];
  const username = target.username;
  const addKey = (file: string, explicit: boolean) => {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (error) {
      if (!explicit) return;
      throw fail(`cannot read identity_file ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
    }
    const parsed = utils.parseKey(data);
    if (parsed instanceof Error) {
      if (!explicit) return;
      const encrypted = /encrypted|passphrase/i.test(parsed.message);
      throw fail(
        encrypted
          ? `identity_file ${file} is protected by a passphrase, which unattended backups cannot type: load it into ssh-agent (SSH_AUTH_SOCK) or use a key without passphrase restricted on the server (from=, command=)`
          : `identity_file ${file} is not a private key ssh2 can read: ${parsed.message}`,
      );
    }
    methods.push({ type: 'publickey', username, key: data });
    tried.push(`key ${file}`);
  };

  if (target.identityFile) addKey(target.identityFile, true);
  if (target.password) {
    methods.push({ type: 'password', username, password: target.password });
    tried.push('password');
  }
  if (!target.identityFile && !target.password) {
    const agent = process.env.SSH_AUTH_SOCK;
    if (agent) {
      methods.push({ type: 'agent', username, agent });
      tried.push(`ssh-agent ${agent}`);
    }
    for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) addKey(join(homedir(), '.ssh', name), false);
  }
  if (methods.length === 0) {
    throw fail(`no SSH credentials for ${describeTarget(target)}: set identity_file or ssh_password, or run with an ssh-agent (SSH_AUTH_SOCK) or a key in ~/.ssh/`);
  }
  return { methods, tried };
}

function knownHostsFor(target: SshTarget, fail: ErrorFactory): KnownHosts {
  const userFile = join(homedir(), '.ssh', 'known_hosts');
  try {
    if (target.knownHosts) {
      if (!existsSync(target.knownHosts)) {
        throw fail(
          `known_hosts file ${target.knownHosts} does not exist. Check the host key fingerprint with the server's administrator, then create it with: ` +
            keyscanCommand(target.host, target.port, target.knownHosts),
        );
      }
      return new KnownHosts([target.knownHosts], target.knownHosts, true);
    }
    return new KnownHosts([userFile, '/etc/ssh/ssh_known_hosts'], userFile, false);
  } catch (error) {
    if ((error as BackupError).layer) throw error;
    throw fail((error as Error).message, { cause: error });
  }
}

function connectMessage(error: Error & { code?: string; level?: string }, target: SshTarget, plan: AuthPlan, timeout: number): string {
  const hostPort = `${target.host}:${target.port}`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return `cannot connect to ${hostPort}: connection refused (is the SSH server running there, and is the port right?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host name ${target.host} (${error.code})`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot reach ${hostPort} (${error.code}): check the address and any firewall in between`;
    case 'ECONNRESET':
      return `${hostPort} closed the connection during the SSH handshake (ECONNRESET): is it an SSH server, and does it allow this client (MaxStartups, tcp wrappers, fail2ban)?`;
    default:
      break;
  }
  if (error.level === 'client-timeout') {
    return `no SSH login on ${hostPort} within ${timeout} s: check the address, the port and any firewall (or raise ssh_connect_timeout)`;
  }
  if (error.level === 'client-authentication') {
    return (
      `SSH login as ${describeTarget(target)} failed (tried ${plan.tried.join(', ')}): check the user name, ` +
      `that the public key is in that user's ~/.ssh/authorized_keys on ${target.host}, or the password`
    );
  }
  return `SSH connection to ${describeTarget(target)} failed: ${error.message}`;
}

/**
 * An open SSH connection. Commands run on channels of it (the sources' runner is
 * src/sources/ssh/remote-command.ts; the sftp destination opens an SFTP channel); `close()`
 * ends it. `lastError()` says why it broke when a command's channel closes unexpectedly.
 */
export class SshSession {
  private broken: Error | undefined;
  private closed = false;

  constructor(
    readonly client: Client,
    readonly target: SshTarget,
    readonly fail: ErrorFactory,
  ) {
    // After login, errors (connection reset, keepalive timeout) surface through the channels
    // that were open; keep the reason for their messages and never crash on an unhandled 'error'.
    client.on('error', (error: Error) => {
      this.broken = error;
    });
    client.on('close', () => {
      this.closed = true;
    });
  }

  get where(): string {
    return describeTarget(this.target);
  }

  get isOpen(): boolean {
    return !this.closed && this.broken === undefined;
  }

  lastError(): Error | undefined {
    return this.broken;
  }

  /** Opens a channel running `command` through the remote user's shell. */
  exec(command: string): Promise<ClientChannel> {
    return new Promise((resolvePromise, reject) => {
      if (this.closed) {
        reject(this.fail(`the SSH connection to ${this.where} is closed${this.broken ? ` (${this.broken.message})` : ''}`));
        return;
      }
      this.client.exec(command, (error, channel) => {
        if (error) reject(this.fail(`cannot start a command on ${this.where}: ${error.message}`, { cause: error }));
        else resolvePromise(channel);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolvePromise) => {
      const timer = setTimeout(() => {
        this.client.destroy();
        resolvePromise();
      }, 2000);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolvePromise();
      });
      this.client.end();
    });
    this.closed = true;
  }
}

/** Connects and logs in; rejects with the layer's error and an operator-readable message. */
export async function connectSsh(target: SshTarget, fail: ErrorFactory): Promise<SshSession> {
  const knownHosts = knownHostsFor(target, fail);
  const plan = await planAuth(target, fail);
  const timeout = target.connectTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const { Client: SshClient } = await loadSsh2();
  const client = new SshClient();
  let hostKeyProblem: string | undefined;

  const config: ConnectConfig = {
    host: target.host,
    port: target.port,
    username: target.username,
    readyTimeout: timeout * 1000,
    keepaliveInterval: KEEPALIVE_MS,
    keepaliveCountMax: KEEPALIVE_COUNT,
    authHandler: plan.methods,
    algorithms: { serverHostKey: knownHosts.preferredAlgorithms(target.host, target.port) },
    hostVerifier: (key: Buffer) => {
      const verdict = knownHosts.verify(target.host, target.port, key);
      if (!verdict.ok) hostKeyProblem = verdict.problem;
      return verdict.ok;
    },
  };

  await new Promise<void>((resolvePromise, reject) => {
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      client.removeListener('ready', onReady);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      if (error) {
        client.on('error', () => undefined);
        client.destroy();
        reject(error);
      } else resolvePromise();
    };
    const onReady = () => settle();
    const onError = (error: Error & { code?: string; level?: string }) => {
      const message = hostKeyProblem ?? connectMessage(error, target, plan, timeout);
      settle(fail(message, { cause: error }));
    };
    const onClose = () => settle(fail(hostKeyProblem ?? `${target.host}:${target.port} closed the SSH connection before login completed`));
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('close', onClose);
    try {
      client.connect(config);
    } catch (error) {
      settle(fail(`SSH connection to ${describeTarget(target)} failed: ${(error as Error).message}`, { cause: error }));
    }
  });
  return new SshSession(client, target, fail);
}

/**
 * The connection of one source instance: opened on first use, reused by every command of the
 * run (snapshot, dump, prune), closed by `close()` from the source's cleanup.
 */
export class LazySshSession {
  private session: Promise<SshSession> | undefined;

  constructor(
    private readonly target: SshTarget,
    private readonly fail: ErrorFactory,
  ) {}

  get(): Promise<SshSession> {
    if (this.session) {
      const current = this.session;
      return current.then((s) => {
        if (s.isOpen) return s;
        this.session = undefined;
        return this.get();
      });
    }
    const opening = connectSsh(this.target, this.fail);
    this.session = opening;
    opening.catch(() => {
      if (this.session === opening) this.session = undefined;
    });
    return opening;
  }

  async close(): Promise<void> {
    const pending = this.session;
    this.session = undefined;
    if (!pending) return;
    const session = await pending.catch(() => undefined);
    await session?.close();
  }
}
