/**
 * Every job file in examples/ loads and validates as `backup validate` does. Secrets the
 * examples keep outside the file are supplied: `${ENV}` variables get dummy values, and
 * `*_file` paths are pointed at a temporary file, so what is checked is the example itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobFileError, loadJobText } from '../../src/config/load.js';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const files = readdirSync(EXAMPLES).filter((f) => /\.jsonc?$/.test(f)).sort();

describe('examples/', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    tmp = await makeTempDir();
  });
  afterAll(() => tmp.remove());

  it('has a job file for each common case', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('%s is a valid job file', async (name) => {
    const path = join(EXAMPLES, name);
    let text = readFileSync(path, 'utf8');
    const env: NodeJS.ProcessEnv = {};
    for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) env[m[1]!] = /URL$/.test(m[1]!) ? 'https://hooks.example.invalid/T000/B000/XXXX' : `dummy-${m[1]!.toLowerCase()}`;
    let n = 0;
    for (const m of [...text.matchAll(/"([a-z_]+)_file"\s*:\s*"([^"]+)"/g)]) {
      const secretFile = join(tmp.path, `${name}-${n++}.secret`);
      await writeFile(secretFile, `dummy secret for ${m[1]}\n`);
      text = text.replace(`"${m[2]}"`, JSON.stringify(secretFile));
    }
    let problems: string[] = [];
    try {
      const job = loadJobText(text, { env, label: name }, path);
      expect(job.sources.length).toBeGreaterThan(0);
      expect(job.destinations.length).toBeGreaterThan(0);
    } catch (error) {
      if (!(error instanceof JobFileError)) throw error;
      problems = error.problems.map((p) => `${p.path}: ${p.message}`);
    }
    // Unknown types fail here too: every type an example uses must be registered.
    expect(problems).toEqual([]);
  });

  it('backup validate accepts an example whose secrets are all in the environment', async () => {
    const result = await runCli(['validate', join(EXAMPLES, 'folder-to-local-and-s3.json')], {
      env: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'example-secret-key' },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('OK (2 source(s): etc, www; 2 destination(s): usb, s3; 1 notification(s))');
  });
});
