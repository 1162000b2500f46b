/**
 * Bundles the CLI into one CommonJS file for Node's single executable applications (Node 20 runs
 * only CommonJS there), and the encryption worker into another, which the executable carries as
 * an asset and starts with `new Worker(code, { eval: true })` (src/pipeline/encrypt-worker-pool.ts).
 * The cloud SDKs that commands import lazily (`await import('@aws-sdk/client-s3')`) are bundled
 * too: esbuild follows `import()` of static strings. Optional modules that are not installed or
 * are native add-ons (ssh2's sshcrypto, cpu-features) become a module that throws when loaded:
 * their users catch that and fall back to JavaScript, as when the module is missing. (Left to
 * `require` at run time instead, the executable would print Node's warning that its require()
 * loads built-in modules only.)
 */
import { readFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { SHARED_OPTIONS, zodEnglishOnly } from '../esbuild-options.mjs';

/** Optional modules: native add-ons, or packages that are not dependencies; each `require` of them is inside a try. */
const ABSENT = [/\.node$/, /^cpu-features$/, /^@aws-sdk\/signature-v4-crt$/, /^@aws-sdk\/signature-v4a$/, /^encoding$/];

const absentPlugin = {
  name: 'absent-optional-modules',
  setup(build) {
    build.onResolve({ filter: /./ }, (args) => (ABSENT.some((re) => re.test(args.path)) ? { path: args.path, namespace: 'absent' } : undefined));
    build.onLoad({ filter: /./, namespace: 'absent' }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}' (not in the single executable)`)}), { code: 'MODULE_NOT_FOUND' });`,
      loader: 'js',
    }));
  },
};

/**
 * `import.meta.url` has no meaning in CommonJS: it becomes the URL of the running file (the
 * executable itself inside a single executable application). Paths resolved from it point at
 * nothing there, which each user handles (encrypt-worker-pool.ts, quickstart.ts use SEA assets).
 */
const BANNER = 'var __import_meta_url = require("node:url").pathToFileURL(__filename).href;';

/**
 * src/version.ts reads ../package.json next to the code, which the executable does not have:
 * the bundle gets the version as a constant. Fails loudly if version.ts no longer has the shape.
 */
function versionPlugin(root, version) {
  return {
    name: 'embed-version',
    setup(build) {
      build.onLoad({ filter: /[\\/]src[\\/]version\.ts$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        const replaced = text.replace(/export const TOOL_VERSION = readVersion\(\);/, `export const TOOL_VERSION = ${JSON.stringify(version)};`);
        if (replaced === text) throw new Error(`${args.path}: "export const TOOL_VERSION = readVersion();" not found; update scripts/release/bundle.mjs`);
        return { contents: replaced, loader: 'ts', resolveDir: join(root, 'src') };
      });
    },
  };
}

/**
 * `await import('node:http')` stays an import() in a CommonJS bundle, and the main script of a
 * Node 20 single executable has no import(): each dynamic import of a built-in module becomes
 * a bundled module that requires it.
 */
const dynamicBuiltinsPlugin = {
  name: 'dynamic-builtins',
  setup(build) {
    build.onResolve({ filter: /./ }, (args) =>
      args.kind === 'dynamic-import' && isBuiltin(args.path) ? { path: args.path, namespace: 'dynamic-builtin' } : undefined,
    );
    build.onLoad({ filter: /./, namespace: 'dynamic-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

const common = {
  ...SHARED_OPTIONS,
  format: 'cjs',
  define: { 'import.meta.url': '__import_meta_url' },
  banner: { js: BANNER },
};

/** Writes `<outdir>/backup.cjs` and `<outdir>/encrypt-worker.cjs`; returns the esbuild metafiles' sizes. */
export async function bundle(root, outdir) {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  const plugins = [versionPlugin(root, pkg.version), absentPlugin, dynamicBuiltinsPlugin, zodEnglishOnly];
  const worker = await esbuild.build({
    ...common,
    entryPoints: [join(root, 'src/pipeline/encrypt-worker.ts')],
    outfile: join(outdir, 'encrypt-worker.cjs'),
    plugins,
  });
  const cli = await esbuild.build({
    ...common,
    // The same start as bin/backup.js, as CommonJS (no top-level await).
    stdin: {
      contents: [
        "import { main } from './src/cli/main.ts';",
        'main(process.argv).then((code) => {',
        '  process.exitCode = code;',
        // A forgotten keep-alive socket of some SDK must not keep a run hanging (as bin/backup.js).
        '  setTimeout(() => process.exit(code), 10_000).unref();',
        '});',
      ].join('\n'),
      resolveDir: root,
      sourcefile: 'sea-main.ts',
      loader: 'ts',
    },
    outfile: join(outdir, 'backup.cjs'),
    plugins,
  });
  return { warnings: [...worker.warnings, ...cli.warnings] };
}
