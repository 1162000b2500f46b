/**
 * Retention planning over random sets of runs: whatever the mix (complete, incomplete, legacy,
 * running, other jobs' and hosts' runs, back-dated, same second), the guarantees hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatRunKey } from '../../src/pipeline/keys.js';
import { PERIODS, isWhole, periodLabel, planRetention, type RetentionPolicy, type StoredRun } from '../../src/pipeline/retention.js';

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

const optional = (max: number) => fc.option(fc.integer({ min: 1, max }), { nil: undefined });
const arbPolicy = fc.record({ copies: optional(5), days: optional(60) });
/** Any policy: copies/days and any keep_* rules, each present or not. */
const arbAnyPolicy: fc.Arbitrary<RetentionPolicy> = fc.record({ copies: optional(5), days: optional(60), hourly: optional(6), daily: optional(8), weekly: optional(5), monthly: optional(4), yearly: optional(3) });
const newestFirst = (a: StoredRun, b: StoredRun) => b.time.getTime() - a.time.getTime() || b.seq - a.seq;

describe('planRetention, property-based', () => {
  it('never removes the newest whole run, a running run, another job or host, or a protected run; keeps every run exactly once', () => {
    fc.assert(
      fc.property(fc.array(arbRun, { maxLength: 25 }), fc.oneof(arbPolicy, arbAnyPolicy), fc.nat(30), (specs, policy, protectIndex) => {
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

  it('keep_* rules: the last whole run of each of the N newest periods with whole runs stays', () => {
    fc.assert(
      fc.property(fc.array(arbRun, { maxLength: 25 }), arbAnyPolicy, (specs, policy) => {
        const runs = toRuns(specs);
        const removed = new Set(planRetention(runs, policy, NOW).remove.map((r) => r.run));
        const whole = runs.filter(isWhole).sort(newestFirst);
        for (const period of PERIODS) {
          const n = policy[period];
          if (n === undefined) continue;
          const lastOfPeriod = new Map<string, StoredRun>();
          for (const run of whole) if (!lastOfPeriod.has(periodLabel(period, run.time))) lastOfPeriod.set(periodLabel(period, run.time), run);
          const kept = [...lastOfPeriod.values()].slice(0, n);
          for (const run of kept) expect(removed.has(run), `${period} ${n}: ${run.runKey}`).toBe(false);
          // Fewer periods than asked: the oldest whole run stays too.
          if (lastOfPeriod.size < n && whole.length) expect(removed.has(whole[whole.length - 1]!)).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('incomplete runs never fill a period or count as a copy: adding them changes nothing for whole runs', () => {
    fc.assert(
      fc.property(fc.array(arbRun, { maxLength: 25 }), fc.array(arbRun, { maxLength: 8 }), arbAnyPolicy, (specs, extra, policy) => {
        const base = toRuns(specs.filter((s) => s.state !== 'incomplete'));
        const taken = new Set(base.map((r) => r.runKey));
        const incomplete = toRuns(extra.map((s) => ({ ...s, state: 'incomplete' as const }))).filter((r) => !taken.has(r.runKey));
        const removedWhole = (runs: StoredRun[]) =>
          planRetention(runs, policy, NOW)
            .remove.map((r) => r.run.runKey)
            .filter((k) => taken.has(k))
            .sort();
        expect(removedWhole([...base, ...incomplete])).toEqual(removedWhole(base));
      }),
      { numRuns: 1000 },
    );
  });

  it('a run is kept when any rule keeps it: adding a keep_* rule never removes more', () => {
    fc.assert(
      fc.property(fc.array(arbRun, { maxLength: 25 }), arbAnyPolicy, fc.constantFrom(...PERIODS), fc.integer({ min: 1, max: 6 }), (specs, policy, period, n) => {
        fc.pre(policy[period] === undefined && Object.values(policy).some((v) => v !== undefined));
        const runs = toRuns(specs);
        const before = new Set(planRetention(runs, policy, NOW).remove.map((r) => r.run.runKey));
        const after = planRetention(runs, { ...policy, [period]: n }, NOW).remove.map((r) => r.run.runKey);
        for (const key of after) expect(before.has(key)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('runs outside every period rule and beyond copies/days go: no whole run stays without a reason', () => {
    fc.assert(
      fc.property(fc.array(arbRun, { maxLength: 25 }), arbAnyPolicy, (specs, policy) => {
        const plan = planRetention(toRuns(specs), policy, NOW);
        for (const { reason } of [...plan.keep, ...plan.remove]) expect(reason.length).toBeGreaterThan(0);
        // With keep_* only, a kept whole run names a period rule, is the oldest, or is the newest.
        if (policy.copies === undefined && policy.days === undefined && PERIODS.some((p) => policy[p] !== undefined)) {
          for (const { run, reason } of plan.keep) if (isWhole(run)) expect(reason).toMatch(/^(hourly|daily|weekly|monthly|yearly) |the oldest whole run|^the newest whole run/);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
