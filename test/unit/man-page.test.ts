import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('man page backup(1)', () => {
  it('docs/backup.1 is in step with the CLI help and the README (run `npm run build && npm run man` to refresh)', () => {
    // The generator asks the built CLI (bin/backup.js; the global setup builds dist/) for its help.
    const page = execFileSync(process.execPath, ['scripts/release/man.mjs'], { cwd: root, encoding: 'utf8' });
    expect(readFileSync(new URL('../../docs/backup.1', import.meta.url), 'utf8')).toBe(page);
  });

  it('names every command the help lists, and the exit codes', () => {
    const page = readFileSync(new URL('../../docs/backup.1', import.meta.url), 'utf8');
    for (const command of ['run', 'validate', 'restore', 'verify', 'quickstart']) expect(page).toContain(`.SS ${command}\n`);
    expect(page).toContain('.SH EXIT STATUS');
    expect(page).toContain('.SH JOB FILE');
  });
});
