/**
 * What the two esbuild builds share: `npm run build`'s ES module bundle (scripts/build.mjs) and
 * the single executable's CommonJS bundle (scripts/release/bundle.mjs).
 */
import { dirname, join } from 'node:path';

/**
 * zod bundles its error messages in about 50 languages, and its index imports them all: half of
 * zod's code. We use English, its default: the index is replaced by one exporting `en` only.
 * (Were zod's layout to change, this would match nothing and the bundle would just be larger.)
 */
export const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: join(dirname(args.importer), '../locales/en.js'), namespace: 'zod-locales' } : undefined,
    );
    build.onLoad({ filter: /./, namespace: 'zod-locales' }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(args.path)};`, loader: 'js', resolveDir: dirname(args.path) }));
  },
};

export const SHARED_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  // jsonc-parser's "main" is a UMD build whose require() calls esbuild cannot follow.
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
};
