/**
 * `backup init`: a commented job file (JSONC) from `--source`, `--dest` and `--notify` specs,
 * with every secret in a 0600 file next to it read through a `_file` key, and a generated
 * passphrase unless `--recipient` names public key files. The result passes `backup validate`;
 * the secret files that hold placeholders are listed with the next command to run.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { shellQuote } from '../lib/shell-words.js';

export interface InitOptions {
  source?: string[];
  dest?: string[];
  notify?: string[];
  recipient?: string[];
  out: string;
  force?: boolean;
}

/** One key of an item; `disabled` writes it commented out, as a hint. */
interface Field {
  key: string;
  value: unknown;
  comment?: string;
  disabled?: boolean;
}

interface Item {
  comment: string[];
  fields: Field[];
}

interface SecretFile {
  /** Relative to the job file's folder, as written in the job file. */
  path: string;
  content: string;
  /** What to put there, for the operator; undefined when init wrote the real value. */
  todo?: string;
  generated?: boolean;
}

const PLACEHOLDER = 'REPLACE-ME';

const SOURCE_FORMS = [
  'folder:PATH (or an absolute PATH)',
  'ssh://[user@]host[:port]/path',
  'mysql://user@host[:port]/db[,db2]',
  'pgsql://user@host[:port]/db[,db2] (a password as user:password@host goes into its secret file)',
];
const DEST_FORMS = [
  'local:PATH (or an absolute PATH)',
  's3://bucket[/prefix][?region=R&endpoint=URL]',
  'b2://bucket[/prefix]',
  'gs://bucket[/prefix]',
  'minio://host[:port]/bucket[/prefix]',
  'sftp://[user@]host[:port]/path',
];
const NOTIFY_FORMS = [
  'uptime-kuma:PUSH_URL',
  'healthchecks:PING_URL',
  'ntfy:TOPIC_URL',
  'webhook:URL',
  'slack:WEBHOOK_URL',
  'discord:WEBHOOK_URL',
  'telegram:CHAT_ID',
  'email:ADDRESS',
  'flagfile:PATH',
];

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Builds the items; collects the secret files they refer to. */
class JobBuilder {
  readonly secrets: SecretFile[] = [];
  private readonly ids = new Map<string, Set<string>>();

  constructor(private readonly jobName: string) {}

  /** A free id of the kind, from a wish that may hold characters ids cannot. */
  id(kind: string, wish: string): string {
    const taken = this.ids.get(kind) ?? new Set<string>();
    this.ids.set(kind, taken);
    let base = wish.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').replace(/-+$/, '');
    if (!ID_PATTERN.test(base)) base = kind;
    let id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
    taken.add(id);
    return id;
  }

  /** A secret file `secrets/<job>-<name>`; returns the path to write in the job file. */
  secret(name: string, content: string, todo?: string, generated = false): string {
    const path = `secrets/${this.jobName}-${name}`;
    this.secrets.push({ path, content, ...(todo ? { todo } : {}), generated });
    return path;
  }
}

/** `[id=]spec`: an explicit id in front of the spec. */
function splitId(spec: string): { id?: string; spec: string } {
  const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)=(.+)$/.exec(spec);
  return match ? { id: match[1]!, spec: match[2]! } : { spec };
}

function usage(option: string, spec: string, message: string): UsageError {
  return new UsageError(`init ${option} ${shownSpec(option, spec)}: ${message}`);
}

/**
 * A spec as an error message may repeat it: for --notify without the path and query, which
 * carry the channel's token (webhook and push URLs). A password in a URL (user:password@) is
 * masked by the CLI's redaction of every message.
 */
function shownSpec(option: string, spec: string): string {
  return option === '--notify' ? spec.replace(/^([^:]*:[a-z][a-z0-9+.-]*:\/\/[^/?#]*)[/?#].*$/is, '$1/…') : spec;
}

function parseUrl(option: string, spec: string): URL {
  try {
    return new URL(spec);
  } catch {
    throw usage(option, spec, 'not a valid URL');
  }
}

function httpUrl(option: string, spec: string, value: string, example: string): string {
  if (value === '') return example;
  const url = parseUrl(option, value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usage(option, spec, `expected an http(s) URL, e.g. ${example}`);
  return value;
}

const decode = (text: string): string => decodeURIComponent(text);

function urlPath(url: URL): string {
  return decode(url.pathname).replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Splits `kind:rest` (not a URL's `scheme://`). */
function kindAndRest(spec: string): { kind: string; rest: string } {
  const colon = spec.indexOf(':');
  return colon < 0 ? { kind: spec, rest: '' } : { kind: spec.slice(0, colon).toLowerCase(), rest: spec.slice(colon + 1) };
}

function sourceItem(builder: JobBuilder, raw: string): Item {
  const { id: wantedId, spec } = splitId(raw);
  const { kind, rest } = kindAndRest(spec);
  if (spec.startsWith('/') || kind === 'folder') {
    const path = spec.startsWith('/') ? spec : rest;
    if (!path) throw usage('--source', raw, 'folder: needs a path, e.g. folder:/etc');
    const id = builder.id('source', wantedId ?? (basename(path) || 'root'));
    return {
      comment: [`The folder ${path}, read with GNU tar (stored as ${id}.tar.zst.gpg).`],
      fields: [
        { key: 'id', value: id },
        { key: 'type', value: 'folder' },
        { key: 'path', value: path },
        { key: 'excludes', value: ['*.tmp', 'cache'], disabled: true, comment: 'patterns tar leaves out' },
        { key: 'sudo', value: 1, disabled: true, comment: 'files only root may read: tar through "sudo -n" (needs a sudoers rule)' },
      ],
    };
  }
  if (kind === 'ssh' || kind === 'folder-ssh') {
    const url = parseUrl('--source', spec);
    const path = decode(url.pathname);
    if (!url.hostname || path === '' || path === '/') throw usage('--source', raw, 'expected ssh://[user@]host[:port]/path');
    const id = builder.id('source', wantedId ?? `${url.hostname}-${basename(path) || 'root'}`);
    return {
      comment: [`The folder ${path} on ${url.hostname}, read with tar over SSH (the host key must be in known_hosts).`],
      fields: [
        { key: 'id', value: id },
        { key: 'type', value: 'folder-ssh' },
        { key: 'sshhost', value: url.hostname },
        ...(url.username ? [{ key: 'sshuser', value: decode(url.username) }] : []),
        ...(url.port ? [{ key: 'sshport', value: Number(url.port) }] : []),
        { key: 'path', value: path },
        { key: 'identity_file', value: '/home/backups/.ssh/id_ed25519', disabled: true, comment: 'default: ssh-agent, then ~/.ssh/id_*' },
      ],
    };
  }
  const isMysql = kind === 'mysql' || kind === 'mariadb';
  const isPgsql = kind === 'pgsql' || kind === 'postgres' || kind === 'postgresql';
  if (isMysql || isPgsql) {
    const url = parseUrl('--source', spec);
    const databases = urlPath(url)
      .split(/[,/]/)
      .filter((d) => d !== '');
    const type = isMysql ? 'mysql' : 'pgsql';
    if (!url.hostname || databases.length === 0) throw usage('--source', raw, `expected ${type}://user@host[:port]/database (several: db1,db2; a password as user:password@host)`);
    const id = builder.id('source', wantedId ?? (databases[0] === '*' ? type : databases[0]!));
    const user = url.username ? decode(url.username) : undefined;
    const password = url.password ? decode(url.password) : undefined;
    const passFile = builder.secret(
      `${id}-dbpass`,
      password ?? PLACEHOLDER,
      password ? undefined : `the ${isMysql ? 'MySQL' : 'PostgreSQL'} password of ${user ?? 'the user'} (an empty file: no password)`,
    );
    const program = isMysql ? 'mysqldump (or mariadb-dump)' : 'pg_dump';
    return {
      comment: [
        `The database${databases.length > 1 ? 's' : ''} ${databases.join(', ')} on ${url.hostname}, dumped with ${program}.`,
        `The password is read from ${passFile} (0600) and reaches ${program} through a temporary 0600 file, never argv.`,
      ],
      fields: [
        { key: 'id', value: id },
        { key: 'type', value: type },
        { key: 'dbhost', value: url.hostname },
        ...(url.port ? [{ key: 'port', value: Number(url.port) }] : []),
        ...(user ? [{ key: 'dbuser', value: user }] : []),
        { key: 'dbpass_file', value: passFile },
        { key: 'dbname', value: databases.join(' ') },
      ],
    };
  }
  throw usage('--source', raw, `unknown kind "${kind}"; accepted: ${SOURCE_FORMS.join(', ')}`);
}

function retentionFields(copies: boolean): Field[] {
  return copies
    ? [{ key: 'retention_copies', value: 7, comment: 'keep the 7 newest whole runs of each source' }]
    : [{ key: 'retention_days', value: 30, comment: 'remove runs older than 30 days (the newest whole run always stays)' }];
}

function bucketAndPrefix(option: string, raw: string, url: URL): { bucket: string; prefix: string } {
  if (!url.hostname) throw usage(option, raw, `expected ${url.protocol}//bucket/prefix`);
  return { bucket: url.hostname, prefix: urlPath(url) };
}

function destinationItem(builder: JobBuilder, raw: string): Item {
  const { id: wantedId, spec } = splitId(raw);
  const { kind, rest } = kindAndRest(spec);
  if (spec.startsWith('/') || kind === 'local') {
    const path = spec.startsWith('/') ? spec : rest;
    if (!path) throw usage('--dest', raw, 'local: needs a path, e.g. local:/mnt/backup');
    return {
      comment: [`A local folder (a mounted disk, NFS share, USB drive). A missing folder fails the run rather than fill the root file system.`],
      fields: [
        { key: 'id', value: builder.id('destination', wantedId ?? 'local') },
        { key: 'type', value: 'local' },
        { key: 'path', value: path },
        ...retentionFields(true),
        { key: 'create', value: 1, disabled: true, comment: 'create the folder when it is missing' },
      ],
    };
  }
  const url = /^[a-z0-9+.-]+:\/\//i.test(spec) ? parseUrl('--dest', spec) : undefined;
  if (url && kind === 's3') {
    const { bucket, prefix } = bucketAndPrefix('--dest', raw, url);
    const region = url.searchParams.get('region');
    const endpoint = url.searchParams.get('endpoint');
    if (endpoint) httpUrl('--dest', raw, endpoint, 'https://s3.example.org');
    return {
      comment: [
        `Amazon S3 (or an S3-compatible service with endpoint_url). Credentials: the AWS chain (instance role,`,
        `~/.aws, AWS_* variables); or a "credentials" block with aws_secret_access_key_file.`,
      ],
      fields: [
        { key: 'id', value: builder.id('destination', wantedId ?? 's3') },
        { key: 'type', value: 's3' },
        { key: 'bucket', value: bucket },
        ...(prefix ? [{ key: 'prefix', value: prefix }] : []),
        region ? { key: 'region', value: region } : { key: 'region', value: 'eu-west-1', disabled: true, comment: 'default: AWS_REGION, then us-east-1' },
        ...(endpoint ? [{ key: 'endpoint_url', value: endpoint }] : []),
        ...retentionFields(false),
      ],
    };
  }
  if (url && (kind === 'b2' || kind === 'backblaze')) {
    const { bucket, prefix } = bucketAndPrefix('--dest', raw, url);
    const id = builder.id('destination', wantedId ?? 'b2');
    const keyFile = builder.secret(`${id}-application-key`, PLACEHOLDER, 'the B2 application key (applicationKey)');
    return {
      comment: [`Backblaze B2. Put the key's id in application_key_id and the key itself in ${keyFile}.`],
      fields: [
        { key: 'id', value: id },
        { key: 'type', value: 'b2' },
        { key: 'bucket', value: bucket },
        ...(prefix ? [{ key: 'prefix', value: prefix }] : []),
        { key: 'credentials', value: { application_key_id: PLACEHOLDER, application_key_file: keyFile } },
        ...retentionFields(false),
      ],
    };
  }
  if (url && (kind === 'gs' || kind === 'gcs')) {
    const { bucket, prefix } = bucketAndPrefix('--dest', raw, url);
    return {
      comment: ['Google Cloud Storage. Credentials: Application Default Credentials, or gcs_creds_path (a service account key file).'],
      fields: [
        { key: 'id', value: builder.id('destination', wantedId ?? 'gs') },
        { key: 'type', value: 'gs' },
        { key: 'bucket', value: bucket },
        ...(prefix ? [{ key: 'prefix', value: prefix }] : []),
        { key: 'gcs_creds_path', value: '/etc/backup-runner/gcs-key.json', disabled: true },
        ...retentionFields(false),
      ],
    };
  }
  if (url && kind === 'minio') {
    const [bucket, ...prefixParts] = urlPath(url).split('/');
    if (!url.host || !bucket) throw usage('--dest', raw, 'expected minio://host[:port]/bucket[/prefix]');
    const id = builder.id('destination', wantedId ?? 'minio');
    const keyFile = builder.secret(`${id}-secret-key`, PLACEHOLDER, 'the MinIO secret key');
    return {
      comment: [`MinIO or another S3-compatible server. Put the access key in credentials.access_key and the secret key in ${keyFile}.`],
      fields: [
        { key: 'id', value: id },
        { key: 'type', value: 'minio' },
        { key: 'endpoint', value: url.host },
        { key: 'bucket', value: bucket },
        ...(prefixParts.length ? [{ key: 'prefix', value: prefixParts.join('/') }] : []),
        { key: 'secure', value: 0, disabled: true, comment: 'plain http (a local MinIO without TLS)' },
        { key: 'credentials', value: { access_key: PLACEHOLDER, secret_key_file: keyFile } },
        ...retentionFields(false),
      ],
    };
  }
  if (url && kind === 'sftp') {
    const path = decode(url.pathname);
    if (!url.hostname || path === '' || path === '/') throw usage('--dest', raw, 'expected sftp://[user@]host[:port]/path');
    return {
      comment: ['An SFTP server, logged in with a key (ssh-agent or identity_file); its host key must be in known_hosts.'],
      fields: [
        { key: 'id', value: builder.id('destination', wantedId ?? 'sftp') },
        { key: 'type', value: 'sftp' },
        { key: 'host', value: url.hostname },
        ...(url.port ? [{ key: 'port', value: Number(url.port) }] : []),
        ...(url.username ? [{ key: 'user', value: decode(url.username) }] : []),
        { key: 'path', value: path },
        { key: 'identity_file', value: '/home/backups/.ssh/id_ed25519', disabled: true, comment: 'default: ssh-agent, then ~/.ssh/id_*' },
        ...retentionFields(true),
      ],
    };
  }
  throw usage('--dest', raw, `unknown kind "${kind}"; accepted: ${DEST_FORMS.join(', ')}`);
}

function notificationItem(builder: JobBuilder, raw: string): Item {
  const { id: wantedId, spec } = splitId(raw);
  const { kind, rest } = kindAndRest(spec);
  const id = (type: string) => builder.id('notification', wantedId ?? type);
  /** A channel whose URL is a secret: the URL goes into a file. */
  const secretUrl = (type: string, key: string, example: string, what: string, comment: string[]): Item => {
    const value = httpUrl('--notify', raw, rest, example);
    const itemId = id(type);
    const file = builder.secret(`${itemId}-${key.replace(/_/g, '-')}`, value, rest ? undefined : what);
    return {
      comment: [...comment, `The URL is a secret (its token lets anyone report): it is in ${file}.`],
      fields: [
        { key: 'id', value: itemId },
        { key: 'type', value: type },
        { key: `${key}_file`, value: file },
      ],
    };
  };
  switch (kind) {
    case 'uptime-kuma':
    case 'kuma':
      return secretUrl('uptime-kuma', 'push_url', `https://kuma.example.org/api/push/${PLACEHOLDER}`, 'the push URL of the Uptime Kuma push monitor', [
        'Uptime Kuma: a push at the end of each run (down with the error when it failed); the monitor alerts when none arrives.',
      ]);
    case 'healthchecks':
    case 'hc':
      return secretUrl('healthchecks', 'url', `https://hc-ping.com/${PLACEHOLDER}`, 'the ping URL of the check', [
        'Healthchecks: start, success and failure pings with the log tail; the check alerts when a run is late.',
      ]);
    case 'webhook':
      return secretUrl('webhook', 'url', `https://hooks.example.org/backup/${PLACEHOLDER}`, 'the webhook URL', [
        'Webhook: the run summary POSTed as JSON.',
      ]);
    case 'slack':
      return secretUrl('slack', 'url', `https://hooks.slack.com/services/${PLACEHOLDER}`, 'the Slack incoming-webhook URL', ['Slack: a message per run.']);
    case 'discord':
      return secretUrl('discord', 'url', `https://discord.com/api/webhooks/${PLACEHOLDER}`, 'the Discord webhook URL', ['Discord: a message per run.']);
    case 'ntfy': {
      const url = httpUrl('--notify', raw, rest, `https://ntfy.sh/backups-${randomBytes(6).toString('hex')}`);
      return {
        comment: ['ntfy: a push message per run. On a public server the topic name is the only protection: keep it unguessable.'],
        fields: [
          { key: 'id', value: id('ntfy') },
          { key: 'type', value: 'ntfy' },
          { key: 'url', value: url },
          { key: 'token_file', value: 'secrets/ntfy-token', disabled: true, comment: 'an access token (tk_...) for a protected topic' },
        ],
      };
    }
    case 'telegram': {
      if (!rest) throw usage('--notify', raw, 'expected telegram:CHAT_ID (a number, or @channel)');
      const itemId = id('telegram');
      const file = builder.secret(`${itemId}-api-token`, `123456789:${PLACEHOLDER}`, 'the bot token from @BotFather');
      return {
        comment: [`Telegram: a message per run from your bot; its token is in ${file}.`],
        fields: [
          { key: 'id', value: itemId },
          { key: 'type', value: 'telegram' },
          { key: 'api_token_file', value: file },
          { key: 'chat_id', value: rest },
        ],
      };
    }
    case 'email':
    case 'mail':
    case 'smtp': {
      if (!/^[^@\s]+@[^@\s]+$/.test(rest)) throw usage('--notify', raw, 'expected email:ADDRESS, e.g. email:ops@example.org');
      return {
        comment: [
          'E-mail through an SMTP server (here: the local mail server on port 25). Failures only; add success_to for every run.',
          'A remote server: host, port 587, "use_tls": 1 and "credentials": { "username": ..., "password_file": ... }.',
        ],
        fields: [
          { key: 'id', value: id('email') },
          { key: 'type', value: 'smtp' },
          { key: 'host', value: 'localhost' },
          { key: 'port', value: 25 },
          { key: 'failure_to', value: rest },
          { key: 'success_to', value: rest, disabled: true },
        ],
      };
    }
    case 'flagfile': {
      if (!rest) throw usage('--notify', raw, 'expected flagfile:PATH');
      return {
        comment: ["A flag file whose modification time is set when the whole run succeeded (for a monitoring system's file-age check)."],
        fields: [
          { key: 'id', value: id('flagfile') },
          { key: 'type', value: 'flagfile' },
          { key: 'flagfile', value: rest },
        ],
      };
    }
    default:
      throw usage('--notify', raw, `unknown kind "${kind}"; accepted: ${NOTIFY_FORMS.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// JSONC

function commentLines(lines: readonly string[], indent: string): string {
  return lines.map((line) => `${indent}// ${line}\n`).join('');
}

function fieldLine(field: Field, indent: string): string {
  const text = `${JSON.stringify(field.key)}: ${JSON.stringify(field.value, null, 1).replace(/\n\s*/g, ' ')},`;
  const line = field.disabled ? `// ${text}` : text;
  return `${indent}${line}${field.comment ? `  // ${field.comment}` : ''}\n`;
}

function itemText(item: Item): string {
  return `${commentLines(item.comment, '    ')}    {\n${item.fields.map((f) => fieldLine(f, '      ')).join('')}    },\n`;
}

function listText(key: string, comment: readonly string[], items: readonly Item[]): string {
  return `\n${commentLines(comment, '  ')}  ${JSON.stringify(key)}: [\n${items.map(itemText).join('')}  ],\n`;
}

export interface InitResult {
  text: string;
  secrets: SecretFile[];
}

/** The job file's text and its secret files, from the options (no file is touched). */
function buildJob(options: InitOptions, jobPath: string): InitResult {
  const sources = options.source ?? [];
  const dests = options.dest ?? [];
  if (sources.length === 0 || dests.length === 0) {
    throw new UsageError(
      `init needs at least one --source and one --dest, e.g. backup init --source folder:/etc --dest local:/mnt/backup (sources: ${SOURCE_FORMS.join(', ')}; destinations: ${DEST_FORMS.join(', ')})`,
    );
  }
  const jobDir = dirname(jobPath);
  const jobName = basename(jobPath, extname(jobPath)).replace(/[^A-Za-z0-9._-]+/g, '-') || 'job';
  const builder = new JobBuilder(jobName);
  const sourceItems = sources.map((s) => sourceItem(builder, s));
  const destItems = dests.map((d) => destinationItem(builder, d));
  const notifyItems = (options.notify ?? []).map((n) => notificationItem(builder, n));

  const root: string[] = [];
  root.push(commentLines(["The machine's name in reports, manifests and keys (default: this machine's name)."], '  '));
  root.push(fieldLine({ key: 'hostname', value: 'web1.example.com', disabled: true }, '  '));
  root.push(commentLines(['`backup status` reports a source OVERDUE (exit 1) when its last success is older than this (a nightly run).'], '  '));
  root.push(fieldLine({ key: 'max_age', value: '26h' }, '  '));
  const recipients = options.recipient ?? [];
  if (recipients.length > 0) {
    const paths = recipients.map((file) => {
      const full = resolve(file);
      if (!existsSync(full) || !statSync(full).isFile()) throw usage('--recipient', file, 'no such key file (an armored or binary OpenPGP public key)');
      const rel = relative(jobDir, full);
      return rel.startsWith('..') || isAbsolute(rel) ? full : rel;
    });
    root.push(
      commentLines(
        [
          'Encryption: every dump is encrypted (OpenPGP, gpg reads it) to these public keys; only the holders of the',
          'private keys can restore, and the private keys never need to be on this machine.',
        ],
        '  ',
      ),
    );
    root.push(fieldLine({ key: 'recipients', value: paths }, '  '));
  } else {
    const passphrase = randomBytes(32).toString('base64url');
    const file = builder.secret('passphrase', passphrase, undefined, true);
    root.push(
      commentLines(
        [
          `Encryption: every dump is encrypted (OpenPGP, as gpg --symmetric) with the passphrase in ${file},`,
          'generated by backup init. Keep a copy of it where the backups are not: without it nothing can be restored.',
          'Public keys instead: "recipients": ["team.asc"] (backup init --recipient team.asc).',
        ],
        '  ',
      ),
    );
    root.push(fieldLine({ key: 'passphrase_file', value: file }, '  '));
  }

  const text =
    `// Job file written by \`backup init\`. JSON with comments and trailing commas. Every key: docs/job-file.md\n` +
    `// (or \`backup schema\` for editors). Secrets are not in this file: each *_file key names a 0600 file holding one.\n` +
    `// Check it with: backup validate ${shellQuote(options.out)}\n` +
    `{\n${root.join('')}` +
    listText('sources', ['What to back up. Each source is one dump (tar or SQL), stored under its id on every destination.'], sourceItems) +
    listText(
      'destinations',
      ['Where every dump is stored, at once. Retention runs per source after each run (retention_copies, retention_days, keep_daily...).'],
      destItems,
    ) +
    (notifyItems.length > 0
      ? listText('notifications', ['Who hears about each run. A channel that fails is a warning; it never fails the backup.'], notifyItems)
      : `\n  // Who hears about each run: e-mail, Slack, ntfy, Uptime Kuma, healthchecks... (see docs/job-file.md).\n  "notifications": [],\n`) +
    '}\n';
  return { text, secrets: builder.secrets };
}

export function commandInit(options: InitOptions): number {
  const jobPath = resolve(options.out);
  // Every spec is checked before anything is written.
  const { text, secrets } = buildJob(options, jobPath);
  if (existsSync(jobPath) && !options.force) throw new UsageError(`init: ${options.out} exists; give --force to overwrite it (its secret files are kept)`);
  const jobDir = dirname(jobPath);
  if (!existsSync(jobDir)) throw new UsageError(`init: the folder ${jobDir} does not exist`);

  const kept: string[] = [];
  if (secrets.length > 0) {
    const secretsDir = resolve(jobDir, 'secrets');
    if (!existsSync(secretsDir)) mkdirSync(secretsDir, { mode: 0o700 });
  }
  for (const secret of secrets) {
    const full = resolve(jobDir, secret.path);
    try {
      // Never overwrite a secret: an existing passphrase file may be the only key to older backups.
      writeFileSync(full, `${secret.content}\n`, { mode: 0o600, flag: 'wx' });
      chmodSync(full, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      kept.push(secret.path);
    }
  }
  writeFileSync(jobPath, text, { mode: 0o600, flag: options.force ? 'w' : 'wx' });

  const out = process.stdout;
  out.write(`wrote ${options.out}\n`);
  for (const secret of secrets) {
    const shown = relative(process.cwd(), resolve(jobDir, secret.path)) || secret.path;
    if (kept.includes(secret.path)) out.write(`  kept ${shown} (it exists; left as it is)\n`);
    else if (secret.generated) out.write(`  wrote ${shown} (0600): a generated passphrase; keep a copy where the backups are not\n`);
    else if (secret.todo) out.write(`  wrote ${shown} (0600): a placeholder; put ${secret.todo} there\n`);
    else out.write(`  wrote ${shown} (0600)\n`);
  }
  const job = shellQuote(options.out);
  const todo = secrets.some((s) => s.todo && !kept.includes(s.path));
  out.write(`next${todo ? ' (once the placeholders are replaced)' : ''}: backup validate ${job} && backup run --dry-run ${job}\n`);
  return ExitCode.ok;
}
