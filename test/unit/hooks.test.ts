import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupError, SourceError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { HookSettings } from '../../src/config/hooks.js';
import { runAfterHooks, runBeforeHooks, type HookScope } from '../../src/pipeline/hooks.js';
import { makeTempDir } from '../support/tmp.js';

const Settings = z.object(HookSettings);

function scope(source?: string): HookScope {
  return {
    job: { path: '/etc/backup/nightly.json', name: 'nightly', hostname: 'db1' },
    source: source ? { id: source, type: 'folder' } : undefined,
    runId: 'run-1',
    runKey: '20260314020000',
    logger: silentLogger,
    signal: new AbortController().signal,
  };
}

async function rejection(promise: Promise<unknown>): Promise<BackupError> {
  try {
    await promise;
  } catch (error) {
    return error as BackupError;
  }
  throw new Error('expected a rejection');
}

describe('command hooks', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    tmp = await makeTempDir();
  });
  afterAll(() => tmp.remove());

  it('accepts an argv array, a shell string and the object form; rejects shell: true with an argv array', () => {
    expect(Settings.parse({ before: ['pg_ctl', 'status'], after: 'echo done', on_error: { command: 'logger -t backup "$BACKUP_ERROR"', timeout: '90s' }, hook_timeout: '10m' })).toEqual({
      before: ['pg_ctl', 'status'],
      after: 'echo done',
      on_error: { command: 'logger -t backup "$BACKUP_ERROR"', timeout: 90 },
      hook_timeout: 600,
    });
    expect(Settings.safeParse({ before: { command: ['a', 'b'], shell: true } }).success).toBe(false);
    expect(Settings.safeParse({ before: [] }).success).toBe(false);
    expect(Settings.safeParse({ before: { command: 'x', extra: 1 } }).success).toBe(false);
  });

  it('runs an argv array without a shell: $VARS and ; stay literal', async () => {
    const out = join(tmp.path, 'argv.txt');
    await runBeforeHooks(Settings.parse({ before: ['/bin/sh', '-c', 'printf "%s|" "$@" > "$0"', out, '$HOME', 'a;b'] }), scope('db'));
    expect(await readFile(out, 'utf8')).toBe('$HOME|a;b|');
  });

  it('a failing before throws a SourceError with the exit status and the output, for the source', async () => {
    const settings = Settings.parse({ before: 'echo "checking replica"; echo "replica lag too high" >&2; exit 3' });
    const error = await rejection(runBeforeHooks(settings, scope('db')));
    expect(error).toBeInstanceOf(SourceError);
    expect(error.describe()).toBe('source db: before command "echo "checking replica"; echo "replica lag too high" >&2; exit 3" exited 3: checking replica | replica lag too high');
  });

  it('a job-level before failure names no source', async () => {
    const error = await rejection(runBeforeHooks(Settings.parse({ before: ['false'] }), scope()));
    expect(error).not.toBeInstanceOf(SourceError);
    expect(error.describe()).toBe('before command "false" exited 1');
  });

  it('a string with shell: false is split into words and run without a shell', async () => {
    const out = join(tmp.path, 'words.txt');
    await runBeforeHooks(Settings.parse({ before: { command: `/bin/sh -c 'printf "%s|" "$@" > "$0"' '${out}' $(id) && "two words"`, shell: false } }), scope('db'));
    expect(await readFile(out, 'utf8')).toBe('$(id)|&&|two words|');
  });

  it('kills a command that outlives its timeout, with its children', async () => {
    const started = Date.now();
    const settings = Settings.parse({ before: { command: 'sleep 30 & sleep 30; wait', timeout: '1s' } });
    const error = await rejection(runBeforeHooks(settings, scope('db')));
    expect(error.describe()).toContain('timed out after 1 s');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a missing program is a clear failure', async () => {
    const error = await rejection(runBeforeHooks(Settings.parse({ before: ['/nonexistent/prepare-db'] }), scope('db')));
    expect(error.describe()).toContain('could not start: /nonexistent/prepare-db not found');
  });

  it('after gets the outcome in BACKUP_* variables; on_error runs first, only on failure; their failures are warnings', async () => {
    const out = join(tmp.path, 'env.txt');
    const settings = Settings.parse({
      on_error: `echo "on_error $BACKUP_STATUS" >> '${out}'`,
      after: `env | grep ^BACKUP_ | sort >> '${out}'; exit 4`,
    });
    const warnings = await runAfterHooks(settings, scope('db'), { status: 'failure', error: 'mysqldump exited 2', storedBytes: 0, durationSeconds: 1.5 });
    const text = await readFile(out, 'utf8');
    expect(text.split('\n')[0]).toBe('on_error failure');
    for (const line of [
      'BACKUP_DURATION_SECONDS=1.500',
      'BACKUP_ERROR=mysqldump exited 2',
      'BACKUP_HOSTNAME=db1',
      'BACKUP_JOB=nightly',
      'BACKUP_JOB_FILE=/etc/backup/nightly.json',
      'BACKUP_PHASE=after',
      'BACKUP_RUN_ID=run-1',
      'BACKUP_RUN_KEY=20260314020000',
      'BACKUP_SOURCE=db',
      'BACKUP_SOURCE_TYPE=folder',
      'BACKUP_STATUS=failure',
      'BACKUP_STORED_BYTES=0',
    ]) {
      expect(text).toContain(`${line}\n`);
    }
    expect(warnings).toEqual([expect.stringContaining('source db: after command')]);
    expect(warnings[0]).toContain('exited 4');

    const quiet = join(tmp.path, 'success.txt');
    const ok = await runAfterHooks(Settings.parse({ on_error: `echo x > '${quiet}'` }), scope('db'), { status: 'success' });
    expect(ok).toEqual([]);
    await expect(readFile(quiet, 'utf8')).rejects.toThrow(/ENOENT/);
  });
});
