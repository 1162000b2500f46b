/**
 * The run protocol on a real (local) destination: slots claimed by racing runs, and runs read
 * back by positive evidence only.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localDestination } from '../../src/destinations/local/index.js';
import type { Destination } from '../../src/destinations/types.js';
import { currentProcessIdentity, processStartTicks } from '../../src/lib/process-identity.js';
import { KeyLayout, formatRunKey, type RunSlot } from '../../src/pipeline/keys.js';
import { MANIFEST_FORMAT, claimFileName, storeJson, type Manifest, type RunClaim } from '../../src/pipeline/manifest.js';
import { claimRunSlot, releaseClaims } from '../../src/pipeline/run-slot.js';
import { leftoverPolicy } from '../../src/pipeline/store-source.js';
import { listRuns, newestWholeRun } from '../../src/pipeline/runs.js';
import { createContext } from '../support/plugins.js';
import { makeTempDir } from '../support/tmp.js';

const ME = { hostname: 'host', job: 'job' };
const signal = new AbortController().signal;

let tmp: { path: string; remove: () => Promise<void> };
let d: Destination;
beforeEach(async () => {
  tmp = await makeTempDir();
  d = await localDestination.create({ id: 'disk', type: 'local', path: tmp.path, create: 1, fsync: false } as never, createContext);
});
afterEach(() => tmp.remove());

async function put(key: string, body: string): Promise<void> {
  await d.put(key, Readable.from([Buffer.from(body)]), { signal });
}

function manifestFor(slot: RunSlot, files: Record<string, string>, extra: Partial<Manifest> = {}): Manifest {
  return {
    format: MANIFEST_FORMAT,
    tool: 'backup-runner',
    tool_version: 'test',
    source: { id: 'db', type: 'folder' },
    hostname: 'host',
    job: 'job',
    run_id: 'r',
    run_key: formatRunKey(slot),
    started_at: slot.time.toISOString(),
    finished_at: slot.time.toISOString(),
    complete: true,
    compression: 'zstd',
    encryption: 'openpgp-passphrase',
    files: Object.entries(files).map(([file, body]) => ({ file, name: file, size: Buffer.byteLength(body), sha256: createHash('sha256').update(body).digest('hex') })),
    warnings: [],
    ...extra,
  };
}

async function storeRun(layout: KeyLayout, slot: RunSlot, files: Record<string, string>, extra: Partial<Manifest> = {}): Promise<void> {
  for (const [file, body] of Object.entries(files)) await put(layout.objectKey('db', slot, file), body);
  await storeJson(d, layout.manifestKey('db', slot), manifestFor(slot, files, extra), signal);
}

function claimBody(slot: RunSlot, processIdentity: RunClaim['process'], owner = ME): RunClaim {
  return {
    format: MANIFEST_FORMAT,
    state: 'running',
    tool: 'backup-runner',
    tool_version: 'test',
    source: { id: 'db', type: 'folder' },
    hostname: owner.hostname,
    job: owner.job,
    run_id: 'c',
    run_key: formatRunKey(slot),
    started_at: slot.time.toISOString(),
    process: processIdentity,
  };
}

/** The identity of a process that has really run and exited. */
async function deadProcess(): Promise<RunClaim['process']> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 100000)']);
  await new Promise((resolve) => child.once('spawn', resolve));
  const identity = { ...currentProcessIdentity(), pid: child.pid!, start: processStartTicks(child.pid!) };
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return identity;
}

const request = (runId: string, started: Date) => ({ sourceId: 'db', sourceType: 'folder', runId, hostname: 'host', job: 'job', started, signal });

describe('claimRunSlot', () => {
  it('gives runs racing for one slot distinct slots: no two runs share a key', async () => {
    const layout = new KeyLayout('{hostname}/{date}/{file}', 'host');
    const started = new Date('2026-11-29T01:00:00Z');
    const target = { id: 'disk', destination: d, layout };
    const outcomes = await Promise.all(['a1', 'b2', 'c3', 'd4'].map((id) => claimRunSlot([target], request(`0000000${id}`, started))));
    const keys = outcomes.map((o) => o.claimed[0]!.runKey);
    expect(new Set(keys).size).toBe(4);
    for (const o of outcomes) expect(o.failed.size).toBe(0);
  });

  it('never takes a slot that holds anything: a second run the same day gets the next one', async () => {
    const layout = new KeyLayout('{hostname}/{date}/{file}', 'host');
    const started = new Date('2026-11-29T01:00:00Z');
    await storeRun(layout, { time: layout.slotTime(started), seq: 1 }, { 'db.tar.zst.gpg': 'first' });
    const outcome = await claimRunSlot([{ id: 'disk', destination: d, layout }], request('0000000e5', new Date('2026-11-29T13:00:00Z')));
    expect(outcome.claimed[0]!.runKey).toBe('20261129000000-2');
    expect(outcome.claimed[0]!.claimKey).toBe('host/2026-11-29-2/db.run-0000000e5.json');
    await releaseClaims(outcome.claimed);
    const runs = await listRuns(d, layout, 'db', ME);
    expect(runs.map((r) => [r.runKey, r.state])).toEqual([['20261129000000', 'complete']]);
  });

  it('never takes a slot below a later run of the same time, even when retention emptied it', async () => {
    const layout = new KeyLayout(undefined, 'host');
    const started = new Date('2026-11-29T01:00:00Z');
    // The runs at seq 1 and 2 were removed; seq 3 remains: the next run of that second is seq 4.
    await storeRun(layout, { time: layout.slotTime(started), seq: 3 }, { 'db.tar.zst.gpg': 'third' });
    const outcome = await claimRunSlot([{ id: 'disk', destination: d, layout }], request('0000000f6', started));
    expect(outcome.claimed[0]!.runKey).toBe('20261129010000-4');
  });
});

describe('listRuns: states by positive evidence', () => {
  const layout = new KeyLayout(undefined, 'host');
  const at = (iso: string, seq = 1): RunSlot => ({ time: new Date(iso), seq });

  it('tells complete, legacy, running, interrupted, damaged and other runs apart', async () => {
    await storeRun(layout, at('2026-11-20T00:00:00Z'), { 'db.tar.zst.gpg': 'good' });
    // The original tool's run, in local time, after ours (a rollback): legacy by its names alone.
    await put('db/20261121093000/db.tar.gpg', 'original');
    await put('db/20261122093000/db.sql.gz.gpg', 'original');
    // Our artifacts with no claim and no manifest: interrupted, whatever the age.
    await put('db/20261101000000/db.tar.zst.gpg', 'half');
    // A claim of a dead runner and one of this (live) process.
    await put('db/20261123000000/db.tar.zst.gpg', 'half');
    await storeJson(d, `db/20261123000000/${claimFileName('db', '0000dead')}`, claimBody(at('2026-11-23T00:00:00Z'), await deadProcess()), signal);
    await storeJson(d, `db/20261124000000/${claimFileName('db', '0000beef')}`, claimBody(at('2026-11-24T00:00:00Z'), currentProcessIdentity()), signal);
    // A complete manifest whose file was truncated afterwards, and a manifest that is not JSON.
    await storeRun(layout, at('2026-11-25T00:00:00Z'), { 'db.tar.zst.gpg': 'whole' });
    await put('db/20261125000000/db.tar.zst.gpg', 'who');
    await put('db/20261126000000/db.tar.zst.gpg', 'x');
    await put('db/20261126000000/db.manifest.json', '{"format": 1, "tool"');
    // Runs of another host and of another job under the same prefix.
    await storeRun(layout, at('2026-11-27T00:00:00Z'), { 'db.tar.zst.gpg': 'theirs' }, { hostname: 'elsewhere' });
    await storeRun(layout, at('2026-11-28T00:00:00Z'), { 'db.tar.zst.gpg': 'theirs' }, { job: 'other-job' });

    const runs = await listRuns(d, layout, 'db', ME);
    expect(Object.fromEntries(runs.map((r) => [r.runKey, r.state]))).toEqual({
      '20261128000000': 'other',
      '20261127000000': 'other',
      '20261126000000': 'incomplete',
      '20261125000000': 'incomplete',
      '20261124000000': 'running',
      '20261123000000': 'incomplete',
      '20261122093000': 'legacy',
      '20261121093000': 'legacy',
      '20261120000000': 'complete',
      '20261101000000': 'incomplete',
    });
    const byKey = new Map(runs.map((r) => [r.runKey, r]));
    expect(byKey.get('20261125000000')!.note).toMatch(/db\.tar\.zst\.gpg has 3 bytes, its manifest says 5/);
    expect(byKey.get('20261126000000')!.note).toMatch(/manifest cannot be read/);
    expect(byKey.get('20261123000000')!.note).toMatch(/interrupted/);

    const picked = newestWholeRun(runs);
    expect(picked.run?.runKey).toBe('20261122093000');
    expect(picked.why).toMatch(/legacy/);
    expect(picked.newer.map((r) => r.runKey)).toEqual(['20261126000000', '20261125000000', '20261124000000', '20261123000000']);
  });

  it('restores on a restore host: with no run of this job at all, takes the newest complete run of another job, and says whose', async () => {
    await storeRun(layout, at('2026-11-20T00:00:00Z'), { 'db.tar.zst.gpg': 'older' }, { job: 'nightly' });
    await storeRun(layout, at('2026-11-21T00:00:00Z'), { 'db.tar.zst.gpg': 'newer' }, { job: 'nightly' });
    await put('db/20261122000000/db.tar.zst.gpg', 'crashed, no manifest');
    let picked = newestWholeRun(await listRuns(d, layout, 'db', { hostname: 'host', job: 'restore-host' }));
    // An incomplete run without an owner counts as this job's: no fallback while it is there.
    expect(picked.run).toBeUndefined();
    await d.delete(['db/20261122000000/db.tar.zst.gpg']);
    picked = newestWholeRun(await listRuns(d, layout, 'db', { hostname: 'host', job: 'restore-host' }));
    expect(picked.run?.runKey).toBe('20261121000000');
    expect(picked.why).toMatch(/no run of this job is stored; the newest complete run of job nightly on host/);
  });

  it('reads a manifest written before runs named their job as this host\'s', async () => {
    await storeRun(layout, at('2026-11-20T00:00:00Z'), { 'db.tar.zst.gpg': 'good' }, { job: undefined });
    const [run] = await listRuns(d, layout, 'db', ME);
    expect(run!.state).toBe('complete');
  });
});

describe('leftoverPolicy: which partial uploads the next run sweeps', () => {
  const layout = new KeyLayout(undefined, 'host');
  const now = Date.parse('2026-11-29T12:00:00Z');
  const minutesAgo = (m: number) => new Date(now - m * 60_000);

  it('sweeps a dead run of this job, never the current run, a live run or another job', async () => {
    await put('db/20261123000000/db.tar.zst.gpg', 'half');
    await storeJson(d, `db/20261123000000/${claimFileName('db', '0000dead')}`, claimBody({ time: new Date('2026-11-23T00:00:00Z'), seq: 1 }, await deadProcess()), signal);
    await storeJson(d, `db/20261124000000/${claimFileName('db', '0000beef')}`, claimBody({ time: new Date('2026-11-24T00:00:00Z'), seq: 1 }, currentProcessIdentity()), signal);
    await storeRun(layout, { time: new Date('2026-11-25T00:00:00Z'), seq: 1 }, { 'db.tar.zst.gpg': 'theirs' }, { job: 'other-job' });
    const policy = leftoverPolicy(await listRuns(d, layout, 'db', ME), ME, '20261129120000', now, 'db');
    expect(policy('20261123000000', 'db.sql.zst.gpg', minutesAgo(1))).toBe(true);
    expect(policy('20261124000000', 'db.sql.zst.gpg', minutesAgo(600))).toBe(false);
    expect(policy('20261125000000', 'db.sql.zst.gpg', minutesAgo(6000))).toBe(false);
    expect(policy('20261129120000', 'db.sql.zst.gpg', minutesAgo(6000))).toBe(false);
    // A slot with nothing in it but a half-written claim: the runner died while claiming.
    expect(policy('20261126000000', 'db.run-0000cafe.json', minutesAgo(1))).toBe(false);
    expect(policy('20261126000000', 'db.run-0000cafe.json', minutesAgo(11))).toBe(true);
    // Unknown owner (written before claims existed): only once a day old.
    expect(policy('20261127000000', 'db.tar.zst.gpg', minutesAgo(60))).toBe(false);
    expect(policy('20261127000000', 'db.tar.zst.gpg', minutesAgo(25 * 60))).toBe(true);
  });
});
