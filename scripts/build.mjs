#!/usr/bin/env node
/**
 * `npm run build`:
 *
 * 1. `tsc` compiles src/ to dist/, one module per source file: what scripts, tests and library
 *    users import (dist/config/docs.js, dist/destinations/registry.js, ...).
 * 2. esbuild bundles the CLI that bin/backup.js starts into dist/bundle/: main.js, a chunk per
 *    command (each still loaded on demand), and encrypt-worker.js, self-contained so the worker
 *    thread starts without loading the CLI's chunks. Node loads ES modules one file at a time
 *    (resolve, read, compile, link): the ~330 files a run loaded (our modules, zod's 99, pino's,
 *    commander's) took a third of a small backup's time. The libraries every start needs are
 *    bundled in; the rest (cloud SDKs, openpgp.js, ssh2, ...) stay in node_modules and are
 *    imported only by the plugins that use them.
 *
 * Both steps run even when tsc reports type errors (it still writes JavaScript; the global
 * test setup relies on that); the exit status is then tsc's.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { SHARED_OPTIONS, zodEnglishOnly } from './esbuild-options.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist/bundle');
/** Dependencies bundled in: the ones every command loads at start. */
const BUNDLED = new Set(['commander', 'jsonc-parser', 'pino', 'zod']);

const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const external = Object.keys(pkg.dependencies)
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`]);

const common = {
  ...SHARED_OPTIONS,
  format: 'esm',
  external,
  sourcemap: 'linked',
  plugins: [zodEnglishOnly],
  // The CommonJS libraries bundled in (commander, pino) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
};

rmSync(OUT, { recursive: true, force: true });
await esbuild.build({ ...common, entryPoints: { main: join(ROOT, 'src/cli/main.ts') }, outdir: OUT, splitting: true, chunkNames: '[name]-[hash]' });
await esbuild.build({ ...common, entryPoints: { 'encrypt-worker': join(ROOT, 'src/pipeline/encrypt-worker.ts') }, outdir: OUT });

process.exitCode = tsc.status ?? 1;
