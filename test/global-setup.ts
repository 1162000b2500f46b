/**
 * Builds dist/ (`npm run build`: tsc's modules, the CLI bundle bin/backup.js starts and its
 * code cache) so
 * end-to-end tests run the real `backup` executable, but only when a source file changed since
 * the last build (a unit test file then starts in seconds, not after a full build).
 * The last build is this setup's (its stamp) or else `npm run build`'s, as .ci/run runs it just
 * before the tests: its oldest output file is not older than any source it read.
 * Type errors are `npm run typecheck`'s job; tsc still emits JavaScript for them, so they do not
 * stop tests.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STAMP = 'dist/.build-stamp';

function newestMtime(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** The oldest JavaScript file under `dir`: when a whole `tsc` build ended writing. */
function oldestOutput(dir: string): number {
  let oldest = Infinity;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) oldest = Math.min(oldest, oldestOutput(path));
    else if (entry.name.endsWith('.js')) oldest = Math.min(oldest, statSync(path).mtimeMs);
  }
  return oldest;
}

function upToDate(): boolean {
  if (!existsSync('dist/cli/main.js') || !existsSync('dist/bundle/backup.cjs')) return false;
  const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : oldestOutput('dist');
  return ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'scripts/build.mjs', 'scripts/code-cache.mjs'].every((p) => newestMtime(p) < built);
}

export default function setup(): void {
  if (upToDate()) return;
  const started = Date.now();
  const result = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8' });
  if (result.status !== 0) console.warn(`the build reported problems (run npm run typecheck):\n${(result.stdout + result.stderr).slice(0, 2000)}`);
  for (const output of ['dist/cli/main.js', 'dist/cli/bundle-loader.js', 'dist/bundle/backup.cjs', 'dist/bundle/encrypt-worker.js']) {
    if (!existsSync(output)) throw new Error(`build failed: ${output} is missing`);
  }
  // The stamp's time is the build's start: a file saved during the build triggers the next one.
  writeFileSync(STAMP, '');
  utimesSync(STAMP, new Date(started), new Date(started));
}
