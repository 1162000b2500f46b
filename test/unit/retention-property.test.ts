/**
 * Retention planning over random sets of runs: whatever the mix (complete, incomplete, legacy,
 * running, other jobs' and hosts' runs, back-dated, same second), the guarantees hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatRunKey } from '../../src/pipeline/keys.js';
import { isWhole, planRetention, type StoredRun } from '../../src/pipeline/retention.js';

const NOW = new Date('2026-11-29T12:00:00Z');
const STATES = ['complete', 'incomplete', 'legacy', 'running', 'other'] as const;

const arbRun = fc.record({
  // Back-dated up to a year, at second resolution; few distinct seconds so that same-second runs occur.
  ageSeconds: fc.oneof(fc.integer({ min: 0, max: 365 * 86400 }), fc.constantFrom(0, 1, 60, 86400)),
  seq: fc.integer({ min: 1, max: 3 }),
  state: fc.constantFrom(...STATES),
});

function toRuns(specs: { ageSeconds: number; seq: number; state: StoredRun['state'] }[]): StoredRun[] {
  const byKey = new Map<string, StoredRun>();
  for (const spec of specs) {
    const slot = { time: new Date(NOW.getTime() - spec.ageSeconds * 1000), seq: spec.seq };
    const runKey = formatRunKey(slot);
    byKey.set(runKey, { ...slot, runKey, objects: [{ key: `db/${runKey}/db.tar.gpg`, size: 1 }], claimKeys: [], state: spec.state });
  }
  return [...byKey.values()];
}

const arbPolicy = fc.record({ copies: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }), days: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }) });

describe('planRetention, property-based', () => {
  it('never removes the newest whole run, a running run, another job or host, or a protected run; keeps every run exactly once', () => {
    fc.assert(
      fc.property(fc.array(arbRun, { maxLength: 25 }), arbPolicy, fc.nat(30), (specs, policy, protectIndex) => {
        const runs = toRuns(specs);
        const protect = runs[protectIndex % Math.max(runs.length, 1)]?.runKey;
        const plan = planRetention(runs, policy, NOW, protect ? [protect] : []);
        const removed = plan.remove.map((r) => r.run);
        expect(plan.keep.length + plan.remove.length).toBe(runs.length);
        const newestWhole = [...runs].sort((a, b) => b.time.getTime() - a.time.getTime() || b.seq - a.seq).find(isWhole);
        if (newestWhole) expect(removed).not.toContain(newestWhole);
        for (const r of removed) {
          expect(r.state).not.toBe('running');
          expect(r.state).not.toBe('other');
          expect(r.runKey).not.toBe(protect);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('incomplete runs never count as copies: with copies N, the N newest whole runs all stay', () => {
    fc.assert(
      fc.property(fc.array(arbRun, { maxLength: 25 }), fc.integer({ min: 1, max: 5 }), (specs, copies) => {
        const runs = toRuns(specs);
        const plan = planRetention(runs, { copies }, NOW);
        const whole = runs.filter(isWhole).sort((a, b) => b.time.getTime() - a.time.getTime() || b.seq - a.seq);
        const removed = new Set(plan.remove.map((r) => r.run));
        for (const run of whole.slice(0, copies)) expect(removed.has(run)).toBe(false);
        // And nothing beyond the policy's reach goes: a removed run is older than the Nth whole run.
        const nth = whole[copies - 1];
        for (const r of removed) if (nth) expect(r.time.getTime() <= nth.time.getTime()).toBe(true);
        if (!nth) expect(removed.size).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });
});
