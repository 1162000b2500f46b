#!/usr/bin/env node
/**
 * `npm run build`:
 *
 * 1. `tsc` compiles src/ to dist/, one module per source file: what scripts, tests and library
 *    users import (dist/config/docs.js, dist/destinations/registry.js, ...), and the loader
 *    bin/backup.js starts the CLI with (dist/cli/bundle-loader.js).
 * 2. esbuild bundles the CLI into one CommonJS file, dist/bundle/backup.cjs, and the
 *    encryption worker into dist/bundle/encrypt-worker.js, self-contained so the worker thread
 *    starts without the CLI. The libraries every start needs are bundled in; the rest (cloud
 *    SDKs, openpgp.js, ssh2, ...) stay in node_modules and are imported only by the plugins
 *    that use them. (Node loads ES modules one file at a time: the ~330 files a run once
 *    loaded took a third of a small backup's time.)
 * 3. scripts/code-cache.mjs runs the bundle on a throwaway job and writes V8's code cache
 *    beside it (dist/bundle/backup.cjs.cache), which bin/backup.js hands to V8: a start then
 *    neither parses the megabyte of JavaScript nor compiles the functions a run calls. A
 *    failed or missing training only costs that time (the build says so).
 *
 * All steps run even when tsc reports type errors (it still writes JavaScript; the global
 * test setup relies on that); the exit status is then tsc's.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { SHARED_OPTIONS, zodEnglishOnly } from './esbuild-options.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist/bundle');
const BUNDLE = join(OUT, 'backup.cjs');
/** The function the loader passes the bundle for its dynamic imports (src/cli/bundle-loader.ts). */
const LOAD = '__load';

/**
 * Node 20 loses a script's dynamic-import callback when V8 takes the script's code cache ("A
 * dynamic import callback was not specified"). So the bundle's `import("…")` of each external
 * package (the cloud SDKs, openpgp.js, ...: esbuild's metafile lists them) becomes a call of
 * the loader's own import, `__load("…")`: the same length, so the source map stays exact.
 * Loaded without the loader, `__load` is Node's import() (the banner).
 */
function routeDynamicImports(file, metafile) {
  const specifiers = new Set(Object.values(metafile.outputs).flatMap((output) => output.imports.filter((i) => i.kind === 'dynamic-import' && i.external).map((i) => i.path)));
  let text = readFileSync(file, 'utf8');
  for (const specifier of specifiers) text = text.replaceAll(`import(${JSON.stringify(specifier)})`, `${LOAD}(${JSON.stringify(specifier)})`);
  const left = text.match(/\bimport\("[^"]*"\)/g);
  if (left) throw new Error(`${file}: dynamic imports left that the loader cannot serve: ${left.join(', ')}`);
  writeFileSync(file, text);
}
/** Dependencies bundled in: the ones every command loads at start. */
const BUNDLED = new Set(['commander', 'jsonc-parser', 'pino', 'zod']);

const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const external = Object.keys(pkg.dependencies)
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`]);

const common = {
  ...SHARED_OPTIONS,
  external,
  sourcemap: 'linked',
  plugins: [zodEnglishOnly],
};

rmSync(OUT, { recursive: true, force: true });
const cli = await esbuild.build({
  ...common,
  format: 'cjs',
  metafile: true,
  entryPoints: [join(ROOT, 'src/cli/main.ts')],
  outfile: BUNDLE,
  // import.meta.url has no meaning in CommonJS: the bundle's own URL (the code that uses it
  // resolves files next to the bundle: the worker, examples/, package.json).
  define: { 'import.meta.url': '__import_meta_url' },
  banner: { js: `var __import_meta_url = require("node:url").pathToFileURL(__filename).href; var ${LOAD} = ${LOAD} || ((specifier) => import(specifier));` },
});
routeDynamicImports(BUNDLE, cli.metafile);
await esbuild.build({
  ...common,
  format: 'esm',
  entryPoints: { 'encrypt-worker': join(ROOT, 'src/pipeline/encrypt-worker.ts') },
  outdir: OUT,
  // Bundled CommonJS code calls require() for Node's built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});

const training = spawnSync(process.execPath, [join(ROOT, 'scripts/code-cache.mjs')], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 120_000 });
if (training.status !== 0) {
  process.stderr.write(`build: no code cache (scripts/code-cache.mjs ${training.error?.message ?? `exited ${training.status}`}); the CLI works, each start compiles it\n${training.stderr ?? ''}`);
}

process.exitCode = tsc.status ?? 1;
