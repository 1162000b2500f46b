#!/usr/bin/env node
/**
 * `npm run release`: builds into release/
 *   backup-linux-x64            the single executable (Node's single executable applications:
 *                               this Node binary with the bundled CLI injected by postject)
 *   backup-runner_<v>_amd64.deb the Debian package (scripts/release/deb.mjs, deploy/debian/)
 *   SHA256SUMS                  of both
 * release/build/ holds the intermediate files (bundle, blob, package tree).
 *
 * Options: --no-deb (executable only).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'postject';
import { bundle } from './bundle.mjs';
import { buildDeb } from './deb.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const RELEASE = join(ROOT, 'release');
const BUILD = join(RELEASE, 'build');
const EXECUTABLE = join(RELEASE, 'backup-linux-x64');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const args = new Set(process.argv.slice(2));
const started = Date.now();
const step = (what) => console.log(`release: ${what} (${((Date.now() - started) / 1000).toFixed(1)}s)`);

function filesUnder(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name), base) : [relative(base, join(dir, entry.name))]));
}

/** examples/ as the asset quickstart writes out inside the executable (src/cli/quickstart.ts). */
function examplesAsset() {
  const dir = join(ROOT, 'examples');
  return JSON.stringify(filesUnder(dir).map((path) => ({ path, data: readFileSync(join(dir, path)).toString('base64') })));
}

if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`the release is built for linux-x64, not ${process.platform}-${process.arch}`);
if (!process.versions.node.startsWith('20.')) throw new Error(`the executable embeds this Node (${process.version}); build it with Node 20`);

rmSync(RELEASE, { recursive: true, force: true });
mkdirSync(BUILD, { recursive: true });

step('bundling with esbuild');
await bundle(ROOT, BUILD);
writeFileSync(join(BUILD, 'examples.json'), examplesAsset());

step('preparing the single executable blob');
execFileSync(process.execPath, ['--experimental-sea-config', 'sea-config.json'], { cwd: ROOT, stdio: 'inherit' });

step('injecting it into a copy of node');
copyFileSync(process.execPath, EXECUTABLE);
chmodSync(EXECUTABLE, 0o755);
// Node's symbol tables and debug info: 12 MB nothing needs (add-ons use the dynamic symbols, which stay). Strip before injecting: after would drop the blob.
if (spawnSync('strip', ['--strip-all', EXECUTABLE], { stdio: 'inherit' }).status !== 0) console.warn('release: strip failed; the executable keeps its debug info');
await inject(EXECUTABLE, 'NODE_SEA_BLOB', readFileSync(join(BUILD, 'sea-prep.blob')), { sentinelFuse: SEA_FUSE });
const version = execFileSync(EXECUTABLE, ['--version'], { env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' }).trim();
step(`built ${relative(ROOT, EXECUTABLE)} ${version}, ${(statSync(EXECUTABLE).size / 1e6).toFixed(1)} MB`);

const products = [EXECUTABLE];
if (!args.has('--no-deb')) {
  step('building the Debian package');
  products.push(await buildDeb({ root: ROOT, build: BUILD, executable: EXECUTABLE, out: RELEASE }));
}

writeFileSync(
  join(RELEASE, 'SHA256SUMS'),
  products.map((file) => `${createHash('sha256').update(readFileSync(file)).digest('hex')}  ${relative(RELEASE, file)}\n`).join(''),
);
step(`done: ${products.map((p) => relative(ROOT, p)).join(', ')}, release/SHA256SUMS`);
