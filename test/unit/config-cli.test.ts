/**
 * Bad input through the built CLI: exit 2, one line that names the file and the JSON path,
 * never a stack trace.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseArgv, unknownCommandMessage } from '../../src/cli/main.js';
import { runCli } from '../support/cli.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';

const PASSPHRASE = 'correct horse battery staple';

function expectOneCleanLine(stderr: string): void {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at |Error:|node:internal/);
}

describe('backup with bad input', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let job: (extra?: Record<string, unknown>, name?: string) => Promise<string>;
  beforeAll(async () => {
    tmp = await makeTempDir();
    await mkdir(join(tmp.path, 'data'));
    job = (extra = {}, name = 'job.json') =>
      writeJob(
        tmp.path,
        {
          sources: [{ id: 'data', type: 'folder', path: join(tmp.path, 'data'), passphrase: PASSPHRASE }],
          destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store') }],
          ...extra,
        },
        name,
      );
  });
  afterAll(() => tmp.remove());

  it('without arguments prints the help to stderr and exits 2', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Usage: backup /);
  });

  it('says a word that is neither a command nor a file is neither', async () => {
    const result = await runCli(['frobnicate'], { cwd: tmp.path });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^backup: "frobnicate" is neither a command \(run, validate, .*\) nor a job file\n$/);
    expectOneCleanLine(result.stderr);
    expect(unknownCommandMessage(['node', 'backup', 'valdate'], () => false)).toMatch(/did you mean "validate"/);
    // Option values are not commands: the original's invocation still runs the job.
    expect(unknownCommandMessage(['node', 'backup', '--log-format', 'json', 'job.json'], () => false)).toBeUndefined();
    expect(normaliseArgv(['node', 'backup', '--log-format', 'json', '-v', 'job.json'])).toEqual(['node', 'backup', 'run', '--log-format', 'json', '-v', 'job.json']);
  });

  it('refuses [ nested 100000 deep with one line and exit 2', async () => {
    const path = join(tmp.path, 'deep.json');
    await writeFile(path, `{"sources": ${'['.repeat(100_000)}`);
    for (const command of [['validate', path], [path]]) {
      const result = await runCli(command);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${path}:1:76: nested more than 64 levels deep`);
      expectOneCleanLine(result.stderr);
    }
  });

  it('reports a file that is not JSON, and a syntax error, in one line of words', async () => {
    const ini = join(tmp.path, 'nightly.cfg');
    await writeFile(ini, '[defaults]\nhostname=my.hostname.com\npassphrase=9a3d2ad085cd1fff0f43501a84e7913d\n');
    const notJson = await runCli(['validate', ini]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toBe(`${ini}:1:1: not a JSON job file: it must be one JSON object, starting with {\n`);

    const bad = join(tmp.path, 'bad.json');
    await writeFile(bad, '{ "hostname": "h1", "tmpdir": 1 "sources": [] }\n');
    const syntax = await runCli(['validate', bad]);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toBe(`${bad}:1:33: expected a comma or closing brace\n`);
  });

  it('names the JSON path and the value given for a wrong type', async () => {
    const path = await job({ destinations: [{ id: 'disk', type: 'local', path: join(tmp.path, 'store'), retention_copies: 'three' }] }, 'three.json');
    const result = await runCli(['validate', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`${path}: destinations[0].retention_copies: expected a number, got the string "three"\n`);
  });

  it('loads unknown keys with a warning, and refuses them with --strict (validate and run)', async () => {
    const path = await job({ comment: 'nightly backup of the data folder' }, 'comment.json');
    const lenient = await runCli(['validate', path]);
    expect(lenient.stderr).toBe(`${path}: warning: comment: unknown key, ignored\n`);
    expect(lenient.code).toBe(0);
    const strict = await runCli(['validate', '--strict', path]);
    expect(strict.stderr).toBe(`${path}: comment: unknown key (refused by --strict)\n`);
    expect(strict.code).toBe(2);
    const run = await runCli(['run', '--strict', path]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('comment: unknown key (refused by --strict)');
  });

  it('turns a state_dir unusable at run time into a job-file error naming state_dir (exit 2)', async () => {
    const state = join(tmp.path, 'state-blocked');
    await mkdir(state);
    await writeFile(join(state, 'locks'), 'a file where the locks folder goes');
    const path = await job({ state_dir: state }, 'blocked.json');
    const result = await runCli(['run', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/state_dir: cannot use .*state-blocked for locks and run history: EEXIST/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
