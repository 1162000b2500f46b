import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'jsonc-parser';
import { JobFileError, loadJobText } from '../../src/config/load.js';
import { Redactor } from '../../src/secrets.js';
import { COMPLETE_EXAMPLE, ITEM_EXAMPLES, ROOT_EXAMPLE } from '../fixtures/original-readme-examples.js';

const LOCAL = { id: 'disk', type: 'local', path: '/tmp/x' };
const FOLDER = { id: 'etc', type: 'folder', path: '/etc', passphrase: 'pw' };

function load(job: unknown, env: NodeJS.ProcessEnv = {}, redactor = new Redactor()) {
  return loadJobText(typeof job === 'string' ? job : JSON.stringify(job), { env, redactor }, '/jobs/test.json');
}

function problemsOf(job: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    load(job, env);
  } catch (error) {
    if (error instanceof JobFileError) return error.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
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
        const problems = problemsOf({ passphrase: 'pw', sources: [FOLDER], destinations: [LOCAL], notifications: [item] });
        expect(problems.join('\n')).toMatch(/notifications\[0\]\.type: HipChat .*(slack|discord|matrix)/s);
      });
      continue;
    }
    it(`validates the ${example.kind} example "${example.title}"`, () => {
      const job =
        example.kind === 'source'
          ? { passphrase: 'pw', sources: [item], destinations: [LOCAL] }
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
    expect(() => load('{\n  "sources": [\n    { "id": "x" "type": "folder" }\n  ]\n}')).toThrow(/test\.json:3:17: CommaExpected/);
  });

  it('names every problem with its JSON path and suggests the nearest valid name', () => {
    const problems = problemsOf({
      sources: [{ ...FOLDER, pasphrase: 'x' }, { id: 'b', type: 'foldr', path: '/x' }, { id: 'c', type: 'folder', passphrase: 'p' }],
      destinations: [{ ...LOCAL, retention_copy: 3 }],
      retention: 1,
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'retention: unknown key',
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
