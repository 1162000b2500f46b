/**
 * `backup completion bash|zsh|fish` through the built CLI: the bash script loads and its
 * completion function answers for subcommands, options, job files and the ids of the job file
 * on the line (through the hidden `backup __complete`, without resolving the job's secrets);
 * the fish script answers the same through `complete -C`; the zsh script parses and registers.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { BIN, runCli } from '../support/cli.js';
import { runProgram } from '../support/run.js';
import { makeTempDir } from '../support/tmp.js';

let tmp: { path: string; remove: () => Promise<void> };
/** PATH with a `backup` that runs the built CLI, as an installed one would. */
let path: string;

const JOB = `// secrets not set here: completion must not need them
{
  "passphrase": "\${COMPLETION_TEST_UNSET_PASSPHRASE}",
  "sources": [
    { "id": "etc", "type": "folder", "path": "/etc" },
    { "id": "shop-db", "type": "mysql", "dbhost": "localhost", "dbpass_file": "missing/secret", "dbname": "shop" },
  ],
  "destinations": [{ "id": "usb", "type": "local", "path": "/mnt/usb" }, { "id": "offsite", "type": "s3", "bucket": "b" }],
}
`;

function run(program: string, args: string[], cwd: string) {
  return runProgram(program, args, { cwd, env: { ...process.env, PATH: path } });
}

function shellWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Calls the bash completion function as readline would: COMP_WORDS (the cursor on the word at
 * `cursor`, by default the last one) and COMP_CWORD set; returns COMPREPLY, one entry a line.
 */
async function bashComplete(words: string[], cursor = words.length - 1): Promise<string[]> {
  const script = [
    'source <(backup completion bash) || exit 9',
    `COMP_WORDS=(${words.map(shellWord).join(' ')})`,
    `COMP_CWORD=${cursor}`,
    `COMP_LINE=${shellWord(words.join(' '))}`,
    'COMPREPLY=()',
    '_backup',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const result = await run('bash', ['-c', script], tmp.path);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout.split('\n').filter((l) => l !== '');
}

beforeAll(async () => {
  tmp = await makeTempDir('br-completion-');
  const bin = join(tmp.path, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'backup'), `#!/bin/sh\nexec ${shellWord(process.execPath)} ${shellWord(BIN)} "$@"\n`);
  await chmod(join(bin, 'backup'), 0o755);
  path = `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  await writeFile(join(tmp.path, 'nightly.json'), JOB);
  await writeFile(join(tmp.path, 'weekly.jsonc'), '{}');
  await writeFile(join(tmp.path, 'notes.txt'), '');
  await mkdir(join(tmp.path, 'jobs'));
});

afterAll(async () => {
  await tmp.remove();
});

describe('backup completion and __complete', () => {
  it('is a command, not a job file; an unknown shell is a usage error naming the shells', async () => {
    const bash = await runCli(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -F _backup backup');
    const bad = await runCli(['completion', 'tcsh']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bash, zsh, fish/);
  });

  it('__complete prints the ids of a job file whose secrets are not set; errors print nothing', async () => {
    const env = { COMPLETION_TEST_UNSET_PASSPHRASE: undefined };
    const sources = await runCli(['__complete', 'ids', join(tmp.path, 'nightly.json'), 'source'], { env });
    expect(sources).toMatchObject({ code: 0, stdout: 'etc\nshop-db\n', stderr: '' });
    const destinations = await runCli(['__complete', 'ids', join(tmp.path, 'nightly.json'), 'destination'], { env });
    expect(destinations.stdout).toBe('usb\noffsite\n');
    for (const args of [
      ['ids', join(tmp.path, 'missing.json'), 'source'],
      ['ids', join(tmp.path, 'notes.txt'), 'source'],
      ['ids', join(tmp.path, 'nightly.json'), 'nonsense'],
      ['what'],
    ]) {
      const result = await runCli(['__complete', ...args]);
      expect(result, args.join(' ')).toMatchObject({ stdout: '', stderr: '' });
    }
  });

  it('the hidden helper is not offered as a command', async () => {
    const help = await runCli(['--help']);
    expect(help.stdout).toContain('completion');
    expect(help.stdout).toContain('init');
    expect(help.stdout).not.toContain('__complete');
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('completion');
    expect(unknown.stderr).not.toContain('__complete');
  });
});

describeWith(['bash'], 'bash completion', () => {
  it('loads: complete -p backup names the function', async () => {
    const result = await run('bash', ['-c', 'source <(backup completion bash); complete -p backup'], tmp.path);
    expect(result).toMatchObject({ code: 0, stdout: 'complete -F _backup backup\n', stderr: '' });
  });

  it('completes subcommands, read from the program', async () => {
    expect(await bashComplete(['backup', 're'])).toEqual(['restore', 'report']);
    const all = await bashComplete(['backup', '']);
    for (const command of ['run', 'validate', 'list', 'restore', 'verify', 'completion', 'init', 'help']) expect(all).toContain(command);
    expect(all).not.toContain('__complete');
  });

  it('completes the options of a subcommand and their choices', async () => {
    const restore = await bashComplete(['backup', 'restore', 'nightly.json', '--']);
    for (const option of ['--source', '--run', '--to', '--to-database', '--extract', '--identity', '--verbose', '--help']) expect(restore).toContain(option);
    expect(restore).not.toContain('--dry-run');
    expect(await bashComplete(['backup', 'restore', '--to-d'])).toEqual(['--to-database']);
    expect(await bashComplete(['backup', 'run', '--log-format', ''])).toEqual(['text', 'json']);
    expect(await bashComplete(['backup', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
  });

  it('completes job files (*.json, *.jsonc) and folders, not other files', async () => {
    const jobs = await bashComplete(['backup', 'validate', '']);
    expect(jobs.sort()).toEqual(['bin', 'jobs', 'nightly.json', 'weekly.jsonc']);
    // The original invocation, `backup JOB`: commands and job files both.
    const first = await bashComplete(['backup', 'n']);
    expect(first).toEqual(['nightly.json']);
  });

  it('completes the ids of the job file on the line after --source, --destination and --only', async () => {
    expect(await bashComplete(['backup', 'restore', 'nightly.json', '--source', ''])).toEqual(['etc', 'shop-db']);
    expect(await bashComplete(['backup', 'restore', 'nightly.json', '--source', 's'])).toEqual(['shop-db']);
    expect(await bashComplete(['backup', 'list', 'nightly.json', '--destination', ''])).toEqual(['usb', 'offsite']);
    // The job file after the cursor; a comma-separated list; the original invocation; --only=.
    expect(await bashComplete(['backup', 'run', '--only', 'etc,', 'nightly.json'], 3)).toEqual(['etc,etc', 'etc,shop-db']);
    expect(await bashComplete(['backup', '-v', 'nightly.json', '--only', ''])).toEqual(['etc', 'shop-db']);
    expect(await bashComplete(['backup', 'run', 'nightly.json', '--only', '=', ''])).toEqual(['etc', 'shop-db']);
    // No job file yet, or one that cannot be read: nothing, and no error.
    expect(await bashComplete(['backup', 'restore', '--source', ''])).toEqual([]);
    expect(await bashComplete(['backup', 'restore', 'notes.txt', '--source', ''])).toEqual([]);
  });
});

describeWith(['zsh'], 'zsh completion', () => {
  it('parses (zsh -n) and registers with compinit', async () => {
    const script = join(tmp.path, '_backup');
    const printed = await run('backup', ['completion', 'zsh'], tmp.path);
    expect(printed.code).toBe(0);
    await writeFile(script, printed.stdout);
    expect(await run('zsh', ['-n', script], tmp.path)).toMatchObject({ code: 0, stderr: '' });
    const loaded = await run('zsh', ['-f', '-c', `autoload -U compinit && compinit -u -D && source ${shellWord(script)} && print -r -- $_comps[backup]`], tmp.path);
    expect(loaded).toMatchObject({ code: 0, stdout: '_backup\n' });
  });
});

describeWith(['fish'], 'fish completion', () => {
  async function fishComplete(line: string): Promise<string[]> {
    const result = await run('fish', ['--no-config', '-c', `backup completion fish | source; complete -C ${shellWord(line)}`], tmp.path);
    expect(result.code).toBe(0);
    return result.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t')[0]!);
  }

  it('parses (fish -n) and completes subcommands, options, job files and ids', async () => {
    const printed = await run('backup', ['completion', 'fish'], tmp.path);
    const script = join(tmp.path, 'backup.fish');
    await writeFile(script, printed.stdout);
    expect(await run('fish', ['--no-config', '-n', script], tmp.path)).toMatchObject({ code: 0, stderr: '' });
    expect(await fishComplete('backup re')).toEqual(['report', 'restore']);
    expect(await fishComplete('backup restore --to-d')).toEqual(['--to-database']);
    expect(await fishComplete('backup validate n')).toEqual(['nightly.json']);
    expect(await fishComplete('backup restore nightly.json --source ')).toEqual(['etc', 'shop-db']);
    expect(await fishComplete('backup status nightly.json --source etc,')).toEqual(['etc,etc', 'etc,shop-db']);
  });
});
