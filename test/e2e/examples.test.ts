/**
 * Every job file in examples/ passes `backup validate` as it is shipped: no environment
 * variables, no files outside examples/ (its secrets are placeholders in examples/secrets/).
 */
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const files = readdirSync(EXAMPLES).filter((f) => /\.jsonc?$/.test(f)).sort();

describe('examples/', () => {
  it('has a job file for each common case', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('backup validate %s exits 0 as shipped, without warnings', async (name) => {
    const path = join(EXAMPLES, name);
    // git keeps no file modes but the executable bit: give an env_file the 0600 its README asks for
    // (validate warns about a file others can read, with the chmod to run).
    const envFile = /"env_file":\s*"([^"]+)"/.exec(readFileSync(path, 'utf8'))?.[1];
    if (envFile) chmodSync(join(EXAMPLES, envFile), 0o600);
    // From another folder, with none of the variables an example might have relied on.
    const result = await runCli(['validate', path], { cwd: '/' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: OK \\(`));
  });

  it('keeps secrets out of the job files: through _file keys, not ${ENV} a bare validate cannot resolve', () => {
    for (const name of files) {
      const text = readFileSync(join(EXAMPLES, name), 'utf8');
      // ${VAR} is fine where the job names an env_file that defines it (vzdump hooks get no environment).
      const envFile = /"env_file":\s*"([^"]+)"/.exec(text)?.[1];
      const defined = envFile ? new Set(readFileSync(join(EXAMPLES, envFile), 'utf8').split('\n').map((l) => /^\s*([A-Za-z_][A-Za-z0-9_]*)=/.exec(l)?.[1])) : new Set<string>();
      for (const m of text.matchAll(/\$\{([^}]*)\}/g)) expect(defined.has(m[1]), `${name}: \${${m[1]}} is not defined by an env_file`).toBe(true);
    }
  });
});
