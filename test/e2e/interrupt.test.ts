/**
 * SIGTERM (a systemd timeout, a Kubernetes eviction) during a large upload: the run aborts
 * the uploads, leaves no temporary or partial file, releases its lock, tells the channels,
 * and exits non-zero.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../support/binaries.js';
import { BIN } from '../support/cli.js';
import { startReceiver, type Receiver } from '../support/http-receiver.js';
import { writeJob } from '../support/jobs.js';
import { makeTempDir } from '../support/tmp.js';
import { entriesUnder } from '../support/files.js';

describeWith(['tar', 'zstd'], 'SIGTERM during a large upload', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let receiver: Receiver;

  beforeAll(async () => {
    tmp = await makeTempDir();
    receiver = await startReceiver();
    const data = join(tmp.path, 'data');
    await mkdir(data);
    // Incompressible data, so the upload takes long enough to be interrupted in the middle.
    for (let i = 0; i < 24; i++) await writeFile(join(data, `f${i}.bin`), randomBytes(16 * 1024 * 1024));
  });
  afterAll(async () => {
    await receiver?.close();
    await tmp?.remove();
  });

  it('aborts, leaves nothing partial, releases the lock, notifies the failure, exits 1', async () => {
    const store = join(tmp.path, 'store');
    const state = join(tmp.path, 'state');
    const job = await writeJob(tmp.path, {
      state_dir: state,
      sources: [{ id: 'data', type: 'folder', path: join(tmp.path, 'data'), passphrase: 'pw-interrupt-test' }],
      destinations: [{ id: 'disk', type: 'local', path: store, create: 1 }],
      notifications: [{ type: 'webhook', url: `${receiver.url}/hook`, events: ['failure', 'run'] }],
    });
    const child = spawn(process.execPath, [BIN, '-v', job], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

    // Wait until the upload is under way: a temporary file exists in the store.
    const deadline = Date.now() + 60_000;
    for (;;) {
      if ((await entriesUnder(store)).some((e) => e.includes('.partial-'))) break;
      if (Date.now() > deadline) throw new Error(`upload never started: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGTERM');
    const code = await exited;

    expect(code).toBe(1);
    expect(stderr).toMatch(/received SIGTERM/);
    // Nothing partial or temporary stays: no file at all, since the only run was interrupted.
    expect((await entriesUnder(store)).filter((e) => !e.endsWith('data'))).toEqual([]);
    expect(await entriesUnder(join(tmp.path, 'tmp'))).toEqual([]);
    expect(await entriesUnder(join(state, 'locks'))).toEqual([]);
    const bodies = receiver.requests.map((r) => JSON.parse(r.text) as { kind?: string; event?: string; run?: { status: string }; status?: string });
    expect(bodies.length).toBeGreaterThan(0);
    expect(JSON.stringify(bodies)).toMatch(/"failure"/);
  });
});
