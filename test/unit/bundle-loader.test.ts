/**
 * The loader bin/backup.js starts the CLI bundle with (src/cli/bundle-loader.ts): V8's code
 * cache is taken only for the very bundle it was made from. V8 itself compares no more than
 * the source's length, so the test that matters is a second bundle of the same length: it must
 * run its own code, not the cached code of the first.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeCachePath, loadCli } from '../../src/cli/bundle-loader.js';
import { makeTempDir } from '../support/tmp.js';

/** A CommonJS "bundle" whose main() answers `answer` (one digit, so every variant has the same length). */
const bundleSource = (answer: number) =>
  `'use strict';\nconst path = require('node:path');\nexports.main = async (argv) => ${answer} + argv.length * 0 + (path.sep === '/' ? 0 : 0) + (typeof __filename === 'string' ? 0 : 100);\n`;

describe('bundle loader', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let bundle: string;
  beforeEach(async () => {
    dir = await makeTempDir();
    bundle = join(dir.path, 'backup.cjs');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('runs the bundle without a cache, writes one readable by all, and takes it on the next start', async () => {
    writeFileSync(bundle, bundleSource(1));
    const first = loadCli(bundle);
    expect(first.cacheUsed).toBe(false);
    expect(await first.main(['node', 'backup'])).toBe(1);
    // Under the umask the CLI itself sets (the training runs the CLI in this process).
    const umask = process.umask(0o077);
    try {
      await first.writeCodeCache();
    } finally {
      process.umask(umask);
    }
    expect(statSync(codeCachePath(bundle)).mode & 0o777).toBe(0o644);

    const second = loadCli(bundle);
    expect(second.cacheUsed).toBe(true);
    expect(await second.main(['node', 'backup'])).toBe(1);
  });

  it("ignores the cache of another bundle of the same length and runs the new bundle's own code", async () => {
    writeFileSync(bundle, bundleSource(1));
    const old = loadCli(bundle);
    await old.main([]);
    await old.writeCodeCache();

    const replaced = bundleSource(2);
    expect(replaced.length).toBe(bundleSource(1).length);
    writeFileSync(bundle, replaced);
    const fresh = loadCli(bundle);
    expect(fresh.cacheUsed).toBe(false);
    expect(await fresh.main([])).toBe(2);
  });

  it('compiles as usual when the cache file is damaged or cut short', async () => {
    writeFileSync(bundle, bundleSource(3));
    const made = loadCli(bundle);
    await made.main([]);
    await made.writeCodeCache();
    const cache = readFileSync(codeCachePath(bundle));

    // The bundle digest intact, V8's data damaged (V8 itself would take it: it checks no sum).
    const damaged = Buffer.from(cache);
    for (let i = 40; i < damaged.length; i += 7) damaged[i] = damaged[i]! ^ 0x5a;
    writeFileSync(codeCachePath(bundle), damaged);
    const afterDamage = loadCli(bundle);
    expect(afterDamage.cacheUsed).toBe(false);
    expect(await afterDamage.main([])).toBe(3);

    writeFileSync(codeCachePath(bundle), cache.subarray(0, 20));
    const afterCut = loadCli(bundle);
    expect(afterCut.cacheUsed).toBe(false);
    expect(await afterCut.main([])).toBe(3);
  });

  it("serves the bundle's dynamic imports (__load) when its code comes from the cache", async () => {
    // Node 20 loses a cached script's own import() callback: the build routes external imports
    // through __load, which must work on the cached start as on the first.
    writeFileSync(bundle, 'exports.main = async () => ((await __load("node:path")).posix.sep === "/" ? 7 : 8);\n');
    const first = loadCli(bundle);
    expect(await first.main([])).toBe(7);
    await first.writeCodeCache();
    const cached = loadCli(bundle);
    expect(cached.cacheUsed).toBe(true);
    expect(await cached.main([])).toBe(7);
  });

  it('says to build when the bundle has no main()', () => {
    writeFileSync(bundle, 'exports.other = 1;\n');
    expect(() => loadCli(bundle)).toThrow(/does not export main\(\); run npm run build/);
  });
});
