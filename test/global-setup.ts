/**
 * Builds dist/ once so end-to-end tests run the real `backup` executable. Type errors are
 * `npm run typecheck`'s job; tsc still emits JavaScript for them, so they do not stop tests.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export default function setup(): void {
  const result = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  if (result.status !== 0) console.warn(`tsc reported problems (run npm run typecheck):\n${result.stdout.slice(0, 2000)}`);
  if (!existsSync('dist/cli/main.js')) throw new Error('build failed: dist/cli/main.js is missing');
}
