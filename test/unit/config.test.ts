import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'jsonc-parser';
import { loadJobText } from '../../src/config/load.js';
import { stateDirFailure } from '../../src/config/paths.js';
import { ConfigError } from '../../src/errors.js';
import { acquireJobLock } from '../../src/pipeline/lock.js';
import { Redactor } from '../../src/secrets.js';
import { COMPLETE_EXAMPLE, ITEM_EXAMPLES, ROOT_EXAMPLE } from '../fixtures/original-readme-examples.js';

const LOCAL = { id: 'disk', type: 'local', path: '/tmp/x' };
const FOLDER = { id: 'etc', type: 'folder', path: '/etc', passphrase: 'correct horse battery' };

function load(job: unknown, env: NodeJS.ProcessEnv = {}, redactor = new Redactor()) {
  return loadJobText(typeof job === 'string' ? job : JSON.stringify(job), { env, redactor }, '/jobs/test.json');
}

function problemsOf(job: unknown, env: NodeJS.ProcessEnv = {}, jobPath = '/jobs/test.json', strict = false): string[] {
  try {
    loadJobText(typeof job === 'string' ? job : JSON.stringify(job), { env, redactor: new Redactor(), strict }, jobPath);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
    throw error;
  }
  return [];
}

function jsonc(text: string): Record<string, unknown> {
  return parse(text, [], { allowTrailingComma: true }) as Record<string, unknown>;
}

describe('the original tool job files', () => {
  it('loads the root example with its keys (hostname, tmpdir, modules)', () => {
    const root = jsonc(ROOT_EXAMPLE);
    const job = load({ ...root, sources: [FOLDER], destinations: [LOCAL] });
    expect(job.info.hostname).toBe('my.hostname.com');
    expect(job.tmpdir).toBe('/var/tmp/backups');
  });

  for (const example of ITEM_EXAMPLES) {
    const item = { ...jsonc(example.text), ...(example.extend ? jsonc(example.extend) : {}) };
    if (example.title === 'hipchat') {
      it('rejects hipchat (the service is gone) with a message naming alternatives', () => {
        const problems = problemsOf({ passphrase: 'correct horse battery', sources: [FOLDER], destinations: [LOCAL], notifications: [item] });
        expect(problems.join('\n')).toMatch(/notifications\[0\]\.type: HipChat .*(slack|discord|matrix)/s);
      });
      continue;
    }
    it(`validates the ${example.kind} example "${example.title}"`, () => {
      const job =
        example.kind === 'source'
          ? { passphrase: 'correct horse battery', sources: [item], destinations: [LOCAL] }
          : example.kind === 'destination'
            ? { sources: [FOLDER], destinations: [item] }
            : { sources: [FOLDER], destinations: [LOCAL], notifications: [item] };
      expect(problemsOf(job)).toEqual([]);
    });
  }

  it('fails the Complete Example, whose mysql source has no dbhost, naming the missing key', () => {
    const problems = problemsOf(COMPLETE_EXAMPLE);
    expect(problems.some((p) => p.startsWith('sources[2].dbhost: required'))).toBe(true);
  });
});

describe('job file loading', () => {
  it('accepts comments and trailing commas, and names line and column of a syntax error', () => {
    expect(() => load(`// nightly\n{ "sources": [ ${JSON.stringify(FOLDER)}, ], /* c */ "destinations": [${JSON.stringify(LOCAL)},], }`)).not.toThrow();
    expect(() => load('{\n  "sources": [\n    { "id": "x" "type": "folder" }\n  ]\n}')).toThrow(/^\/jobs\/test\.json:3:17: expected a comma or closing brace$/);
  });

  it('names every problem with its JSON path and suggests the nearest valid name', () => {
    const problems = problemsOf({
      sources: [{ ...FOLDER, pasphrase: 'x' }, { id: 'b', type: 'foldr', path: '/x' }, { id: 'c', type: 'folder', passphrase: 'correct horse battery' }],
      destinations: [{ ...LOCAL, retention_copy: 3 }],
      hostnme: 'h1',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'hostnme: unknown key (did you mean "hostname"?)',
        'sources[0].pasphrase: unknown key (did you mean "passphrase"?)',
        'sources[1].type: unknown source type "foldr" (did you mean "folder"?)',
        'sources[2].path: required',
        'destinations[0].retention_copy: unknown key (did you mean "retention_copies"?)',
      ]),
    );
  });

  it('requires an encryption key unless encryption is explicitly none', () => {
    expect(problemsOf({ sources: [{ id: 'a', type: 'folder', path: '/a' }], destinations: [LOCAL] })[0]).toMatch(/sources\[0\]: no encryption key/);
    expect(problemsOf({ sources: [{ id: 'a', type: 'folder', path: '/a', encryption: 'none' }], destinations: [LOCAL] })).toEqual([]);
    const job = load({ sources: [{ id: 'a', type: 'folder', path: '/a', compress_only: 1 }], destinations: [LOCAL] });
    expect(job.sources[0]!.options).toMatchObject({ compression: 'gzip', encryption: 'none' });
  });

  it('rejects duplicate ids', () => {
    expect(problemsOf({ sources: [FOLDER, FOLDER], destinations: [LOCAL] })).toContain('sources[1].id: "etc" is already used by sources[0]');
  });

  it('substitutes ${ENV} anywhere, keeps $${literal}, and names an unset variable', () => {
    const job = load({ hostname: '${HOST}-$${NOT}', sources: [{ ...FOLDER, passphrase: '${PASS}' }], destinations: [LOCAL] }, { HOST: 'h1', PASS: 'from-env' });
    expect(job.info.hostname).toBe('h1-${NOT}');
    expect(job.sources[0]!.options.passphrase).toBe('from-env');
    expect(problemsOf({ sources: [{ ...FOLDER, passphrase: '${MISSING}' }], destinations: [LOCAL] })).toContain(
      'sources[0].passphrase: environment variable MISSING is not set',
    );
  });

  it('reads *_file twins of secrets, registers them for redaction, and refuses both forms at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'br-cfg-'));
    await writeFile(join(dir, 'pass'), 's3cr3t-from-file\n');
    const redactor = new Redactor();
    const { passphrase: _drop, ...noPass } = FOLDER;
    void _drop;
    const job = load({ sources: [{ ...noPass, passphrase_file: join(dir, 'pass') }], destinations: [LOCAL] }, {}, redactor);
    expect(job.sources[0]!.options.passphrase).toBe('s3cr3t-from-file');
    expect(redactor.redact('x s3cr3t-from-file y')).toBe('x *** y');
    expect(problemsOf({ sources: [{ ...FOLDER, passphrase_file: join(dir, 'pass') }], destinations: [LOCAL] })).toContain(
      'sources[0].passphrase_file: give either passphrase or passphrase_file, not both',
    );
    expect(problemsOf({ sources: [{ ...noPass, passphrase_file: join(dir, 'nope') }], destinations: [LOCAL] })[0]).toMatch(/passphrase_file: cannot read .*nope \(ENOENT\)/);
  });

  it('registers secrets under credentials objects but not user names', () => {
    const redactor = new Redactor();
    const smtp = { type: 'smtp', host: 'mail.example', failure_to: 'ops@example.com', credentials: { username: 'backupuser', password: 'smtp-s3cret-1' } };
    load({ sources: [FOLDER], destinations: [LOCAL], notifications: [smtp] }, {}, redactor);
    expect(redactor.redact('login smtp-s3cret-1 as backupuser')).toBe('login *** as backupuser');
  });

  it('accepts the modules list and warns about unknown modules', () => {
    const job = load({ modules: ['backups.sources.folder', 'backups.notifications.nosuch'], sources: [FOLDER], destinations: [LOCAL] });
    expect(job.warnings.join('\n')).toMatch(/backups\.notifications\.nosuch/);
    expect(job.warnings.join('\n')).not.toMatch(/backups\.sources\.folder/);
  });

  it('defaults hostname to the machine and notification ids to type and position', () => {
    const job = load({ sources: [FOLDER], destinations: [LOCAL], notifications: [{ type: 'flagfile', filename: '/tmp/ok' }] });
    expect(job.info.hostname.length).toBeGreaterThan(0);
    expect(job.notifications[0]!.options.id).toBe('flagfile-1');
  });
});

describe('bad input: one problem naming the place, never a crash', () => {
  const JOB = { sources: [FOLDER], destinations: [LOCAL] };

  it('refuses absurd nesting without exhausting the stack', () => {
    expect(problemsOf('['.repeat(100_000))).toEqual(['/jobs/test.json:1:1: not a JSON job file: it must be one JSON object, starting with {']);
    expect(problemsOf(`{"sources": ${'['.repeat(100_000)}`)).toEqual(['/jobs/test.json:1:76: nested more than 64 levels deep']);
  });

  it('says in one line that a file is not JSON, and what a syntax error expected, in words', () => {
    expect(problemsOf('[defaults]\nhostname=my.hostname.com\npassphrase=9a3d2ad085cd1fff\n')).toEqual([
      '/jobs/test.json:1:1: not a JSON job file: it must be one JSON object, starting with {',
    ]);
    expect(problemsOf('{ "hostname": "h1", "tmpdir" "/var/tmp" }')).toEqual(['/jobs/test.json:1:30: expected a colon after the key']);
    expect(problemsOf('{ "sources": [ {"id": "a"} {"id": "b"} ] }')).toEqual(['/jobs/test.json:1:28: expected a comma or closing bracket']);
    expect(problemsOf('{ "hostname": "h1", "tmpdir": \'/x\' }')).toEqual(['/jobs/test.json:1:31: unexpected character (strings need "double quotes")']);
    expect(problemsOf('  \n')).toEqual(['/jobs/test.json: the job file is empty']);
  });

  it('names what was given when a number was expected', () => {
    expect(problemsOf({ ...JOB, destinations: [{ ...LOCAL, retention_copies: 'three' }] })).toEqual([
      'destinations[0].retention_copies: expected a number, got the string "three"',
    ]);
    expect(problemsOf({ ...JOB, hostname: 42 })).toEqual(['hostname: expected a string, got the number 42']);
  });

  it('names list items that are not objects and strings that are not text (found by the fuzz)', () => {
    expect(problemsOf({ sources: [FOLDER, null], destinations: [LOCAL], notifications: [7] })).toEqual(
      expect.arrayContaining(['sources[1]: expected an object, got null', 'notifications[0]: expected an object, got the number 7']),
    );
    expect(problemsOf({ sources: [{ ...FOLDER, passphrase: 'correct horse \uD800 battery' }], destinations: [LOCAL] })).toEqual([
      'sources[0].passphrase: is not valid Unicode text (a lone \\uD800-\\uDFFF escape)',
    ]);
  });

  it('refuses an unterminated ${ instead of taking it literally', () => {
    expect(problemsOf({ ...JOB, hostname: '${HOME' }, { HOME: '/root' })).toEqual(['hostname: "${HOME" has no closing } (write $${ for a literal ${)']);
    expect(load({ ...JOB, hostname: 'a-$${HOME' }).info.hostname).toBe('a-${HOME');
  });

  it('refuses a state_dir that is a file, or below one', () => {
    expect(problemsOf({ ...JOB, state_dir: '/etc/passwd' })).toEqual(['state_dir: /etc/passwd is a file, not a folder']);
    expect(problemsOf({ ...JOB, state_dir: '/etc/passwd/state' })).toEqual(['state_dir: /etc/passwd/state cannot be a folder: /etc/passwd is a file']);
  });

  it('maps a state_dir failure at run time (a file where the locks folder goes) to a job-file error naming state_dir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'br-cfg-'));
    const job = load({ ...JOB, state_dir: dir });
    await writeFile(join(dir, 'locks'), 'not a folder');
    const failure = await acquireJobLock(job.stateDir, job.info).then(
      () => undefined,
      (error: unknown) => stateDirFailure(error, job.stateDir),
    );
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).problems[0]!.path).toBe('state_dir');
    expect((failure as ConfigError).message).toMatch(/^state_dir: cannot use .* for locks and run history: E(EXIST|NOTDIR)/);
  });

  it('checks recipient key files when the job loads, relative to the job file\'s folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'br-cfg-'));
    const job = { sources: [{ id: 'etc', type: 'folder', path: '/etc', recipients: ['keys/team.asc', 'ops@example.com', '0x0123456789ABCDEF'] }], destinations: [LOCAL] };
    expect(problemsOf(job, {}, join(dir, 'job.json'))).toEqual([
      `sources[0].recipients[0]: key file ${join(dir, 'keys/team.asc')} does not exist (a recipient is a key file, armored key text, a key id or an e-mail of the gpg keyring)`,
    ]);
    await mkdir(join(dir, 'keys'));
    await writeFile(join(dir, 'keys/team.asc'), '-----BEGIN PGP PUBLIC KEY BLOCK-----\n');
    const loaded = loadJobText(JSON.stringify(job), { env: {}, redactor: new Redactor() }, join(dir, 'job.json'));
    // The run reads the same file whatever its working directory.
    expect(loaded.sources[0]!.options.recipients).toEqual([join(dir, 'keys/team.asc'), 'ops@example.com', '0x0123456789ABCDEF']);
    expect(problemsOf({ recipients: 'missing.asc', sources: [{ id: 'a', type: 'folder', path: '/a' }], destinations: [LOCAL] }, {}, join(dir, 'job.json'))[0]).toMatch(
      /^recipients\[0\]: key file .*missing\.asc does not exist/,
    );
  });

  it('refuses a key_template without a time, with an unknown placeholder, or leaving the destination', () => {
    const withTemplate = (key_template: string) => problemsOf({ ...JOB, destinations: [{ ...LOCAL, key_template }] });
    expect(withTemplate('{id}/{file}')).toEqual(['destinations[0].key_template: needs {timestamp} or {date} to tell runs apart']);
    expect(withTemplate('{id}/{month}/{timestamp}/{file}')).toEqual(['destinations[0].key_template: unknown placeholder {month}']);
    expect(withTemplate('../{id}/{timestamp}/{file}')).toEqual(['destinations[0].key_template: must not contain "." or ".." folders']);
    expect(withTemplate('{id}//{timestamp}/{file}')).toEqual(['destinations[0].key_template: has an empty folder name ("//")']);
    expect(problemsOf({ ...JOB, key_template: '{hostname}/../{date}/{file}' })).toEqual(['key_template: must not contain "." or ".." folders']);
    // The original README's layout, leading slash included, is fine.
    expect(withTemplate('/{hostname}/{date}/{file}')).toEqual([]);
  });

  it('accepts a missing tmpdir inside an existing folder (the run creates it), not one whose parent is missing', () => {
    expect(problemsOf({ ...JOB, tmpdir: join(tmpdir(), 'br-not-yet-made') })).toEqual([]);
    expect(problemsOf({ ...JOB, tmpdir: '/nonexistent/x' })).toEqual([
      'tmpdir: /nonexistent/x does not exist, nor does its parent folder /nonexistent (a run creates only the last level)',
    ]);
    expect(problemsOf({ ...JOB, sources: [{ ...FOLDER, tmpdir: '/etc/passwd' }] })).toEqual(['sources[0].tmpdir: /etc/passwd is a file, not a folder']);
  });
});

describe('job files of the original load unchanged', () => {
  it('ignores unknown keys with a warning, but keeps a likely typo an error with its suggestion', () => {
    const job = load({ comment: 'nightly', sources: [{ ...FOLDER, comment: 'the config', before: { command: 'true', note: 'x' } }], destinations: [{ ...LOCAL, owner: 'ops' }] });
    expect([...job.warnings].sort()).toEqual([
      'comment: unknown key, ignored',
      'destinations[0].owner: unknown key, ignored',
      'sources[0].before.note: unknown key, ignored',
      'sources[0].comment: unknown key, ignored',
    ]);
    expect(job.sources[0]!.options).not.toHaveProperty('comment');
    expect(problemsOf({ sources: [{ ...FOLDER, before: { comand: 'true' } }], destinations: [{ ...LOCAL, retention_copy: 3 }] })).toEqual([
      'sources[0].before.comand: unknown key (did you mean "command"?)',
      'sources[0].before.command: required',
      'destinations[0].retention_copy: unknown key (did you mean "retention_copies"?)',
    ]);
  });

  it('makes every unknown key an error with strict (--strict)', () => {
    expect(problemsOf({ sources: [{ ...FOLDER, comment: 'x' }], destinations: [LOCAL] }, {}, '/jobs/test.json', true)).toEqual([
      'sources[0].comment: unknown key (refused by --strict)',
    ]);
  });

  it('takes an empty dbpass as no password', () => {
    const job = load({ sources: [{ id: 'db', type: 'mysql', dbhost: 'localhost', dbuser: 'root', dbpass: '', dbname: 'shop', passphrase: 'correct horse battery' }], destinations: [LOCAL] });
    expect(job.sources[0]!.options).not.toHaveProperty('dbpass');
  });

  it('understands the top-level encryption block as the passphrase of every source without its own key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'br-cfg-'));
    await writeFile(join(dir, 'passphrase'), 'block passphrase from file\n');
    const sources = [
      { id: 'a', type: 'folder', path: '/a' },
      { id: 'b', type: 'folder', path: '/b', passphrase: 'own passphrase of b' },
    ];
    const job = load({ encryption: { type: 'symmetric', passphrase: 'the block passphrase' }, sources, destinations: [LOCAL] });
    expect(job.sources.map((s) => [s.options.passphrase, s.options.encryption])).toEqual([
      ['the block passphrase', 'openpgp'],
      ['own passphrase of b', 'openpgp'],
    ]);
    const redactor = new Redactor();
    const fromFile = load({ encryption: { type: 'symmetric', passphrase_file: join(dir, 'passphrase') }, sources, destinations: [LOCAL] }, {}, redactor);
    expect(fromFile.sources[0]!.options.passphrase).toBe('block passphrase from file');
    expect(redactor.redact('x block passphrase from file')).toBe('x ***');
    expect(problemsOf({ encryption: { type: 'gpg', passphrase: 'the block passphrase' }, sources, destinations: [LOCAL] })).toEqual([
      'encryption.type: expected "symmetric"',
    ]);
  });
});
