/**
 * Loader fuzz: random mutations (fixed seed, bounded count) of every example job file and of
 * every documented example of the original tool, loaded through the code path of
 * `backup validate`. Every input must end as a job or as a ConfigError whose problems are
 * one line each; never another exception. A sample goes through the built CLI: exit 0 or 2,
 * never a stack trace.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'jsonc-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadJobText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { Redactor } from '../../src/secrets.js';
import { sourcePlugins } from '../../src/sources/registry.js';
import { destinationPlugins } from '../../src/destinations/registry.js';
import { notificationPlugins } from '../../src/notifications/registry.js';
import { COMPLETE_EXAMPLE, ITEM_EXAMPLES, ROOT_EXAMPLE } from '../fixtures/original-readme-examples.js';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const SEED = 0x5eed_2011;
const MUTANTS_PER_SEED = 100;
const CLI_SAMPLE = 8;

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

interface Seed {
  name: string;
  /** Where the job file notionally lives: relative `_file` paths and key files are taken from there. */
  jobPath: string;
  text: string;
}

function originalSeeds(): Seed[] {
  const folder = { id: 'etc', type: 'folder', path: '/etc', passphrase: 'youllneverguesswhat' };
  const local = { id: 'disk', type: 'local', path: '/mnt/backup-drive' };
  const items = ITEM_EXAMPLES.map((example, i) => {
    const item = { ...(parse(example.text) as object), ...(example.extend ? (parse(example.extend) as object) : {}) };
    const job =
      example.kind === 'source'
        ? { passphrase: 'youllneverguesswhat', sources: [item], destinations: [local] }
        : example.kind === 'destination'
          ? { sources: [folder], destinations: [item] }
          : { sources: [folder], destinations: [local], notifications: [item] };
    return { name: `original ${example.kind} ${example.title} #${i}`, jobPath: '/etc/backups/original.json', text: JSON.stringify(job, null, 2) };
  });
  return [
    { name: 'original root', jobPath: '/etc/backups/root.json', text: ROOT_EXAMPLE },
    { name: 'original complete', jobPath: '/etc/backups/complete.json', text: COMPLETE_EXAMPLE },
    ...items,
  ];
}

function exampleSeeds(): Seed[] {
  return readdirSync(EXAMPLES)
    .filter((f) => /\.jsonc?$/.test(f))
    .sort()
    .map((f) => ({ name: `examples/${f}`, jobPath: join(EXAMPLES, f), text: readFileSync(join(EXAMPLES, f), 'utf8') }));
}

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  return { next, int, pick };
}
type Random = ReturnType<typeof random>;

const DEEP = '__deeply_nested__';
const TYPE_NAMES = [...sourcePlugins, ...destinationPlugins, ...notificationPlugins].flatMap((p) => [p.type, ...(p.aliases ?? [])]);
const GARBAGE = ['{', '}', '[', ']', ',', ':', '"', '\\', '/*', '//', '\n', '\u0000', '\uFEFF', '\uD83D', '💾', 'é', '${', '$${', 'null', '-', '1e999', 'true'];

function strangeValue(rng: Random): unknown {
  return rng.pick<() => unknown>([
    () => rng.int(2 ** 31) - 2 ** 30,
    () => -1,
    () => 0.5,
    () => 1e308,
    () => 'three',
    () => '',
    () => ' ',
    () => rng.next() < 0.5,
    () => null,
    () => [],
    () => ({}),
    () => ['a', 1, null],
    () => ({ unexpected: { nested: true } }),
    () => 'x'.repeat(200_000),
    () => 'Ünïcödé ✓ 💾 \u202e \u0000 \uD800',
    () => '${HOME',
    () => '${NOT_SET_ANYWHERE}',
    () => '${1BAD}',
    () => '../../../etc/passwd',
    () => '/etc/passwd',
    () => '{id}/{nope}/../{file}',
    () => rng.pick(TYPE_NAMES),
    () => DEEP,
  ])();
}

/** Every object and array in the tree with the path to it. */
function containers(node: unknown, out: (Record<string, unknown> | unknown[])[] = []): (Record<string, unknown> | unknown[])[] {
  if (node && typeof node === 'object') {
    out.push(node as Record<string, unknown>);
    for (const child of Object.values(node)) containers(child, out);
  }
  return out;
}

function mutateTree(tree: unknown, rng: Random): string {
  const all = containers(tree);
  const target = rng.pick(all);
  const keys = Object.keys(target);
  const key = keys.length ? rng.pick(keys) : '0';
  const set = (value: unknown) => ((target as Record<string, unknown>)[key] = value);
  switch (rng.int(6)) {
    case 0: // delete a key
      if (Array.isArray(target)) target.splice(Number(key), 1);
      else delete target[key];
      break;
    case 1: // change a value's type
    case 2:
      set(strangeValue(rng));
      break;
    case 3: // a wrong `type`
      if (!Array.isArray(target)) target.type = rng.pick([...TYPE_NAMES, 'hipchat', 'ftp', '', 7, null]);
      else set(strangeValue(rng));
      break;
    case 4: // an unknown key, close to a known one or not
      if (!Array.isArray(target)) target[rng.pick(['comment', `${key}s`, key.slice(1), 'x-custom', '__proto__', 'constructor'])] = strangeValue(rng);
      else target.push(strangeValue(rng));
      break;
    default: // a whole list replaced
      set(rng.pick([[], [{}], [null], 'sources', { type: 'folder' }]));
  }
  const depth = 1000 + rng.int(200_000);
  return JSON.stringify(tree, null, rng.next() < 0.5 ? 2 : undefined).replace(`"${DEEP}"`, () => '['.repeat(depth) + ']'.repeat(depth));
}

function mutateText(text: string, rng: Random): string {
  const at = rng.int(text.length + 1);
  switch (rng.int(6)) {
    case 0:
      return text.slice(0, at); // truncated
    case 1: {
      const garbage = Array.from({ length: 1 + rng.int(4) }, () => rng.pick(GARBAGE)).join('');
      return text.slice(0, at) + garbage + text.slice(at);
    }
    case 2:
      return text.slice(0, at) + text.slice(at + 1 + rng.int(20)); // a few characters gone
    case 3:
      return '['.repeat(100_000) + text;
    case 4:
      return text.slice(0, at) + '{"a":'.repeat(5_000) + text.slice(at);
    default:
      return text.replaceAll('"', rng.next() < 0.5 ? "'" : '');
  }
}

/** The tree of a text that parses cleanly and is not nested absurdly (that is a text mutation). */
function parsed(text: string): object | undefined {
  if (text.length > 1_000_000 || /\[{50}|(\{"a":){50}/.test(text)) return undefined;
  const errors: unknown[] = [];
  const tree: unknown = parse(text, errors as never, { allowTrailingComma: true });
  return errors.length === 0 && tree && typeof tree === 'object' ? tree : undefined;
}

function mutants(seed: Seed, rng: Random): string[] {
  const out: string[] = [];
  for (let i = 0; i < MUTANTS_PER_SEED; i++) {
    let text = seed.text;
    // One to three mutations stacked, each on the tree when the text still parses.
    for (let n = 1 + rng.int(3); n > 0; n--) {
      const tree = parsed(text);
      text = tree && rng.next() < 0.7 ? mutateTree(tree, rng) : mutateText(text, rng);
    }
    out.push(text);
  }
  return out;
}

interface Outcome {
  ok: boolean;
  unexpected?: string;
}

/** What `backup validate` does in-process: load, and either a job or a ConfigError. */
function loadLikeValidate(text: string, jobPath: string): Outcome {
  try {
    loadJobText(text, { env: { HOME: '/root' }, redactor: new Redactor() }, jobPath);
    return { ok: true };
  } catch (error) {
    if (!(error instanceof ConfigError)) return { ok: false, unexpected: `${(error as Error)?.name}: ${(error as Error)?.message ?? String(error)}` };
    const multiline = error.problems.find((p) => /\n/.test(p.message) || /\n\s+at /.test(p.message));
    if (multiline) return { ok: false, unexpected: `a problem over several lines: ${multiline.message.slice(0, 300)}` };
    if (error.problems.length === 0) return { ok: false, unexpected: 'a ConfigError without problems' };
    return { ok: false };
  }
}

describe('loader fuzz', () => {
  const seeds = [...exampleSeeds(), ...originalSeeds()];
  const rng = random(SEED);
  const cases = seeds.flatMap((seed) => mutants(seed, rng).map((text, i) => ({ seed, i, text })));
  let tmp: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    tmp = await makeTempDir();
  });
  afterAll(() => tmp.remove());

  it(`every seed loads unmutated as the tests of the examples and the original expect`, () => {
    // Known failures: the root example lists no source, the Complete Example's mysql source has
    // no dbhost, and hipchat is retired. Every other seed loads.
    const failing = seeds.filter((s) => !loadLikeValidate(s.text, s.jobPath).ok).map((s) => s.name);
    expect(failing).toEqual(['original root', 'original complete', expect.stringMatching(/^original notification hipchat/)]);
  });

  it(`ends every one of ${cases.length} mutated job files with a job or a job-file error`, () => {
    expect(cases.length).toBeGreaterThan(2_000);
    const unexpected: string[] = [];
    let loaded = 0;
    for (const c of cases) {
      const outcome = loadLikeValidate(c.text, c.seed.jobPath);
      if (outcome.ok) loaded++;
      if (outcome.unexpected) unexpected.push(`${c.seed.name} mutant ${c.i}: ${outcome.unexpected}`);
    }
    expect(unexpected.slice(0, 10)).toEqual([]);
    // Both outcomes occur: the mutations are neither all harmless nor all fatal.
    expect(loaded).toBeGreaterThan(cases.length / 20);
    expect(loaded).toBeLessThan(cases.length);
  });

  it(`exits 0 or 2 through the built CLI, one line per problem, never a stack trace (${CLI_SAMPLE} samples)`, async () => {
    const sample = Array.from({ length: CLI_SAMPLE }, (_, i) => cases[Math.floor((i * cases.length) / CLI_SAMPLE)]!);
    // The samples are independent: validated side by side, checked in order.
    const results = await Promise.all(
      sample.map(async (c, i) => {
        const path = join(tmp.path, `mutant-${i}.json`);
        await writeFile(path, c.text);
        return { c, path, result: await runCli(['validate', path]) };
      }),
    );
    for (const { c, path, result } of results) {
      expect([0, 2], `${c.seed.name} mutant ${c.i}: ${result.stderr.slice(0, 500)}`).toContain(result.code);
      expect(result.stderr).not.toMatch(/\n\s+at |node:internal|Maximum call stack/);
      for (const line of result.stderr.split('\n').filter(Boolean)) expect(line.startsWith(path) || line.startsWith(`${path}:`)).toBe(true);
    }
  });
});
