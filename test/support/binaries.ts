/**
 * Tests that need a system program (sshd, smbd, gpg...) skip with the reason printed when it
 * is missing, except under CI=true, where a missing program is a failure: CI must install it.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';

const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/lib/postgresql/15/bin'];

export function findBinary(name: string): string | undefined {
  if (name.includes('/')) {
    try {
      accessSync(name, constants.X_OK);
      return name;
    } catch {
      return undefined;
    }
  }
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS]) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export function missingBinaries(names: readonly string[]): string[] {
  return names.filter((n) => !findBinary(n));
}

/** `describe` that needs the named programs. */
export function describeWith(binaries: readonly string[], title: string, body: () => void): void {
  const missing = missingBinaries(binaries);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const reason = `${missing.join(', ')} not installed (.ci/run installs them)`;
  if (process.env.CI === 'true') {
    describe(title, () => {
      it('has the programs it needs', () => {
        throw new Error(`CI=true and ${reason}`);
      });
    });
    return;
  }
  console.warn(`SKIP ${title}: ${reason}`);
  describe.skip(title, body);
}

/**
 * Skips the running test with the reason printed when this machine cannot give it what it needs
 * (root, a tmpfs mount), except under CI=true, where that is a failure: CI must provide it.
 */
export function skipUnlessCi(ctx: { skip: () => void }, reason: string): void {
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  console.warn(`SKIP: ${reason}`);
  ctx.skip();
}
