/**
 * The moment a dump is handed to the pipeline:
 * - A dump whose output was read (or thrown away) before the pipeline took it is never stored.
 *   When a program exits while nobody listens to its stdout, Node resumes that stdout and drops
 *   its data; a source that awaited I/O between starting its dumper and handing the stream over
 *   would otherwise have the rest of the dump stored as a complete one, every check passing.
 * - A dumper that fails while the pipeline is still being set up (the encryption's session key)
 *   fails the artifact at once: the run used to wait for ever for a stream that was stopped.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localDestination } from '../../src/destinations/local/index.js';
import type { Destination } from '../../src/destinations/types.js';
import { storeArtifact, type ArtifactSettings } from '../../src/pipeline/store-artifact.js';
import type { Artifact } from '../../src/sources/types.js';
import { createContext } from '../support/plugins.js';
import { makeTempDir } from '../support/tmp.js';

let tmp: { path: string; remove: () => Promise<void> };
let destination: Destination;
beforeEach(async () => {
  tmp = await makeTempDir();
  destination = await localDestination.create({ id: 'disk', type: 'local', path: tmp.path, create: 1, fsync: false } as never, createContext);
});
afterEach(() => tmp.remove());

const settings = (): ArtifactSettings => ({ sourceId: 'db', compression: 'none', encryption: { kind: 'none' }, signal: new AbortController().signal });

/** A dump program's artifact, its stdout left unread until the program exited and Node resumed it. */
async function artifactReadLate(): Promise<Artifact> {
  const child = spawn('sh', ['-c', 'printf "CREATE TABLE t (x int);\\n"; printf "INSERT INTO t VALUES (1);\\n"'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = once(child, 'exit');
  await exited;
  // The exit is handled and Node has resumed the unread stdout (a turn of the event loop later).
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { name: 'db.sql', stream: child.stdout, done: Promise.resolve() };
}

describe('storeArtifact with a stream read before it got there', () => {
  it('fails the artifact and commits nothing', async () => {
    const artifact = await artifactReadLate();
    expect(artifact.stream.readableFlowing).toBe(true); // the premise: Node resumed it
    const stored = await storeArtifact(artifact, settings(), (file) => [{ id: 'disk', destination, key: `db/run/${file}` }]);
    expect(String(stored.error)).toMatch(/the dump's output was read before the pipeline took it .* nothing of it is stored/);
    expect(stored.branches.every((b) => !b.ok)).toBe(true);
    expect(await readdir(tmp.path)).toEqual([]);
  });

  it('stores the same dump handed over at once', async () => {
    const child = spawn('sh', ['-c', 'printf "CREATE TABLE t (x int);\\n"'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const done = once(child, 'exit').then(() => undefined);
    const stored = await storeArtifact({ name: 'db.sql', stream: child.stdout, done }, settings(), (file) => [{ id: 'disk', destination, key: `db/run/${file}` }]);
    expect(stored.error).toBeUndefined();
    expect(stored.branches.map((b) => b.ok)).toEqual([true]);
    expect(stored.bytes).toBe('CREATE TABLE t (x int);\n'.length);
  });
});

describe('storeArtifact when the dumper fails before the stream is set up', () => {
  for (const compression of ['zstd', 'none'] as const) {
    for (const kind of ['passphrase', 'none'] as const) {
      it(`fails the artifact at once and commits nothing (compression ${compression}, encryption ${kind})`, async () => {
        // The dumper's output stays open (never ends) and its exit status is already a failure.
        const stream = new PassThrough();
        stream.write('the start of a dump');
        const done = Promise.reject(new Error('dumper failed at once'));
        done.catch(() => undefined);
        const encryption = kind === 'none' ? ({ kind } as const) : ({ kind, passphrase: 'a long enough test passphrase' } as const);
        const stored = await storeArtifact({ name: 'db.sql', stream, done }, { ...settings(), compression, encryption }, (file) => [{ id: 'disk', destination, key: `db/run/${file}` }]);
        expect(String(stored.error)).toMatch(/dumper failed at once/);
        expect(stored.branches.every((b) => !b.ok)).toBe(true);
        expect(await readdir(tmp.path)).toEqual([]);
      }, 10_000);
    }
  }
});
