/**
 * Grandfather-father-son retention (keep_hourly ... keep_yearly) against tables of back-dated runs
 * whose expected result is worked out by hand from the borg and restic documentation:
 *
 * - restic forget: "--keep-daily n: for the last n days which have one or more snapshots, keep
 *   only the most recent one for each day"; weeks are Monday 00:00 to Sunday 23:59; the
 *   --keep-* results are ORed ("a snapshot only needs to match a single option to be kept"), and
 *   each option counts on its own (its example: daily 7 + weekly 5 keeps 7 dailies and 4 more
 *   last-day-of-the-week ones, "since the 7 dailies already include 1 weekly");
 * - borg prune: "--keep-daily 7 means to keep the latest backup on each day, up to 7 most recent
 *   days with backups (days without backups do not count)"; checkpoints (our incomplete runs)
 *   never count against the limits;
 * - both (borg >= 1.2, restic >= 0.17): when there are not enough runs to keep one for each
 *   period a rule asks for, the oldest run is kept as well.
 *
 * Periods are in the host's local time zone; these tests set TZ and restore it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRunKey } from '../../src/pipeline/keys.js';
import { hasPolicy, periodLabel, planRetention, retentionPolicy, type RetentionPolicy, type StoredRun } from '../../src/pipeline/retention.js';

const savedTz = process.env.TZ;
beforeAll(() => {
  process.env.TZ = 'UTC';
});
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

function runAt(iso: string, state: StoredRun['state'] = 'complete', seq = 1): StoredRun {
  const time = new Date(iso);
  const runKey = formatRunKey({ time, seq });
  return { runKey, time, seq, objects: [{ key: `db/${runKey}/db.tar.gpg`, size: 1 }], claimKeys: [], state };
}

/** One run a day at 02:00 UTC from `from` to `to` (inclusive), newest first. */
function daily(from: string, to: string): StoredRun[] {
  const runs: StoredRun[] = [];
  for (let t = new Date(`${to}T02:00:00Z`).getTime(); t >= new Date(`${from}T02:00:00Z`).getTime(); t -= 86_400_000) runs.push(runAt(new Date(t).toISOString()));
  return runs;
}

const day = (r: StoredRun) => r.time.toISOString().slice(0, 10);
const NOW = new Date('2026-12-01T00:00:00Z');

function plan(runs: StoredRun[], policy: RetentionPolicy, protect: string[] = []) {
  const p = planRetention(runs, policy, NOW, protect);
  const reasons = new Map([...p.keep, ...p.remove].map((x) => [x.run.runKey, x.reason]));
  return { kept: p.keep.map((x) => x.run), removed: p.remove.map((x) => x.run), reason: (r: StoredRun) => reasons.get(r.runKey) };
}

describe('periodLabel (local time, ISO weeks)', () => {
  it('names hours, days, ISO weeks, months and years', () => {
    const t = new Date('2026-11-29T14:05:00Z');
    expect(PERIOD_LABELS(t)).toEqual(['2026-11-29 14:00', '2026-11-29', '2026-W48', '2026-11', '2026']);
  });

  it('gives a week the year of its Thursday (ISO 8601)', () => {
    expect(periodLabel('weekly', new Date('2027-01-01T12:00:00Z'))).toBe('2026-W53'); // a Friday; 2026 began on a Thursday
    expect(periodLabel('weekly', new Date('2027-01-04T12:00:00Z'))).toBe('2027-W01'); // the Monday after
    expect(periodLabel('weekly', new Date('2024-12-30T12:00:00Z'))).toBe('2025-W01'); // a Monday of 2024 in the first week of 2025
    expect(periodLabel('weekly', new Date('2026-11-23T00:00:00Z'))).toBe('2026-W48'); // Monday 00:00 starts the week
    expect(periodLabel('weekly', new Date('2026-11-22T23:59:59Z'))).toBe('2026-W47'); // Sunday 23:59 ends the one before
  });
});

function PERIOD_LABELS(t: Date): string[] {
  return (['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const).map((p) => periodLabel(p, t));
}

describe('keep_* rules, worked examples', () => {
  it("restic's example: one run every Sunday for 12 weeks, keep_daily 4 keeps the last four Sundays", () => {
    // restic's documentation: 2019-09-01 ... 2019-11-17, Sundays at 11:00; `forget --keep-daily 4`
    // keeps 2019-10-27, 11-03, 11-10, 11-17 ("daily snapshot") and removes the other 8.
    const runs: StoredRun[] = [];
    for (let i = 0; i < 12; i++) runs.push(runAt(new Date(Date.UTC(2019, 8, 1 + 7 * i, 11)).toISOString()));
    const p = plan(runs, { daily: 4 });
    expect(p.kept.map(day).sort()).toEqual(['2019-10-27', '2019-11-03', '2019-11-10', '2019-11-17']);
    expect(p.removed).toHaveLength(8);
    expect(p.reason(runs[11]!)).toBe('daily 2019-11-17');
    expect(p.reason(runs[0]!)).toBe('day 2019-09-01 is beyond the 4 newest days with runs');
  });

  it('daily runs for three months with keep_daily 7, keep_weekly 4, keep_monthly 3', () => {
    // Runs every day at 02:00 UTC from 2026-09-01 to 2026-11-29 (a Sunday): 90 runs.
    // - daily 7:   the 7 newest days: 11-23 ... 11-29;
    // - weekly 4:  ISO weeks 2026-W48 (Mon 11-23 .. Sun 11-29) → 11-29 (already a daily),
    //              W47 → Sunday 11-22, W46 → 11-15, W45 → 11-08 (restic: the dailies include 1 weekly);
    // - monthly 3: 2026-11 → 11-29, 2026-10 → 10-31, 2026-09 → 09-30.
    // Kept: 11-23..11-29, 11-22, 11-15, 11-08, 10-31, 09-30 = 12 runs; the other 78 go.
    const runs = daily('2026-09-01', '2026-11-29');
    expect(runs).toHaveLength(90);
    const p = plan(runs, { daily: 7, weekly: 4, monthly: 3 });
    expect(p.kept.map(day).sort()).toEqual(
      ['2026-09-30', '2026-10-31', '2026-11-08', '2026-11-15', '2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29'],
    );
    expect(p.removed).toHaveLength(78);
    const byDay = (d: string) => runs.find((r) => day(r) === d)!;
    expect(p.reason(byDay('2026-11-29'))).toBe('daily 2026-11-29; weekly 2026-W48; monthly 2026-11');
    expect(p.reason(byDay('2026-11-22'))).toBe('weekly 2026-W47');
    expect(p.reason(byDay('2026-10-31'))).toBe('monthly 2026-10');
    expect(p.reason(byDay('2026-11-21'))).toBe(
      'day 2026-11-21 is beyond the 7 newest days with runs; not the last run of week 2026-W47; not the last run of month 2026-11',
    );
    expect(p.reason(byDay('2026-10-25'))).toContain('week 2026-W43 is beyond the 4 newest weeks with runs');
  });

  it('days without runs do not count: keep_daily 3 over a gap reaches back to the third day that has a run', () => {
    // Runs on 11-29, 11-20 (twice), 11-10, 11-01. keep_daily 3 keeps the newest run of 11-29, 11-20, 11-10.
    const runs = [runAt('2026-11-29T02:00:00Z'), runAt('2026-11-20T22:00:00Z'), runAt('2026-11-20T02:00:00Z'), runAt('2026-11-10T02:00:00Z'), runAt('2026-11-01T02:00:00Z')];
    const p = plan(runs, { daily: 3 });
    expect(p.kept).toEqual([runs[0], runs[1], runs[3]]);
    expect(p.reason(runs[2]!)).toBe('not the last run of day 2026-11-20');
  });

  it('when fewer periods have runs than a rule asks for, the oldest whole run is kept too (borg >= 1.2, restic >= 0.17)', () => {
    // Daily runs 09-01..11-29 span 3 months; keep_monthly 6 keeps 11-29, 10-31, 09-30 and the oldest, 09-01.
    const runs = daily('2026-09-01', '2026-11-29');
    const p = plan(runs, { monthly: 6 });
    expect(p.kept.map(day)).toEqual(['2026-11-29', '2026-10-31', '2026-09-30', '2026-09-01']);
    expect(p.reason(runs[runs.length - 1]!)).toBe('the oldest whole run (keep_monthly 6 found only 3 months)');
  });

  it('keep_hourly keeps the last run of each hour', () => {
    // Runs every 20 minutes from 09:00 to 11:40: hours 09, 10, 11; keep_hourly 2 keeps 11:40 and 10:40.
    const runs: StoredRun[] = [];
    for (let m = 160; m >= 0; m -= 20) runs.push(runAt(new Date(Date.UTC(2026, 10, 29, 9, m)).toISOString()));
    const p = plan(runs, { hourly: 2 });
    expect(p.kept.map((r) => r.time.toISOString())).toEqual(['2026-11-29T11:40:00.000Z', '2026-11-29T10:40:00.000Z']);
  });

  it('keep_yearly keeps the last run of each year', () => {
    const runs = [runAt('2026-03-01T02:00:00Z'), runAt('2025-12-31T23:00:00Z'), runAt('2025-06-01T02:00:00Z'), runAt('2024-12-31T02:00:00Z'), runAt('2023-12-31T02:00:00Z')];
    const p = plan(runs, { yearly: 3 });
    expect(p.kept).toEqual([runs[0], runs[1], runs[3]]);
  });

  it("counts periods in the host's time zone (TZ honoured)", () => {
    // 23:30 and 00:30 UTC are two days in UTC, one evening (18:30, 19:30 on 11-28) in New York.
    const runs = [runAt('2026-11-29T00:30:00Z'), runAt('2026-11-28T23:30:00Z'), runAt('2026-11-27T12:00:00Z')];
    expect(plan(runs, { daily: 2 }).kept).toEqual([runs[0], runs[1]]);
    process.env.TZ = 'America/New_York';
    try {
      const p = plan(runs, { daily: 2 });
      expect(p.kept).toEqual([runs[0], runs[2]]);
      expect(p.reason(runs[1]!)).toBe('not the last run of day 2026-11-28');
    } finally {
      process.env.TZ = 'UTC';
    }
  });
});

describe('keep_* rules and the guarantees', () => {
  it('incomplete runs never fill a period: the last whole run of the day is kept, not a newer failed one', () => {
    // 11-29 has a whole run; 11-28 a whole run at 02:00 and a failed one at 22:00. The failed run
    // does not make 11-28's whole run "not the last of its day", and it goes (a whole run is
    // newer). A failed run newer than every whole run (11-30) stays: it may hold the freshest files.
    const runs = [runAt('2026-11-30T02:00:00Z', 'incomplete'), runAt('2026-11-29T02:00:00Z'), runAt('2026-11-28T22:00:00Z', 'incomplete'), runAt('2026-11-28T02:00:00Z')];
    const p = plan(runs, { daily: 2 });
    expect(p.kept).toEqual([runs[0], runs[1], runs[3]]);
    expect(p.reason(runs[0]!)).toBe('incomplete, newer than every whole run (never fills a period)');
    expect(p.reason(runs[2]!)).toBe('incomplete: incomplete runs never fill a period');
    expect(p.reason(runs[3]!)).toBe('daily 2026-11-28');
  });

  it('legacy runs fill periods like complete ones', () => {
    const runs = [runAt('2026-11-29T02:00:00Z'), runAt('2026-11-28T02:00:00Z', 'legacy'), runAt('2026-11-27T02:00:00Z', 'legacy')];
    expect(plan(runs, { daily: 2 }).kept).toEqual([runs[0], runs[1]]);
  });

  it('never removes a run in progress, another job\'s run, or the run just stored', () => {
    const runs = [runAt('2026-11-29T03:00:00Z', 'running'), runAt('2026-11-29T02:00:00Z'), runAt('2026-11-29T01:00:00Z', 'other'), runAt('2026-11-29T00:30:00Z', 'incomplete'), runAt('2026-11-29T00:00:00Z'), runAt('2026-11-28T00:00:00Z')];
    const p = plan(runs, { daily: 1 }, [runs[4]!.runKey]);
    expect(p.removed).toEqual([runs[3], runs[5]]);
    expect(p.reason(runs[4]!)).toBe('the run just stored');
  });

  it('combines with retention_copies/retention_days: a run is kept when any rule keeps it', () => {
    // Daily runs 11-01..11-29. retention_copies 3 keeps 11-27..11-29; keep_weekly 3 keeps the
    // Sundays 11-29, 11-22, 11-15 (weeks W48, W47, W46). Kept: 11-29, 11-28, 11-27, 11-22, 11-15.
    const runs = daily('2026-11-01', '2026-11-29');
    const p = plan(runs, { copies: 3, weekly: 3 });
    expect(p.kept.map(day)).toEqual(['2026-11-29', '2026-11-28', '2026-11-27', '2026-11-22', '2026-11-15']);
    expect(p.reason(runs[0]!)).toBe('copy 1; weekly 2026-W48');
    expect(p.reason(runs[3]!)).toBe('beyond the 3 newest copies; not the last run of week 2026-W48');
    // copies and days together stay one rule (the original's: a run goes when either says so) ...
    // (NOW is 12-01 00:00: the 11-27 run is 3.9 days old, the 11-26 one 4.9.)
    expect(plan(runs, { copies: 5, days: 4 }).kept.map(day)).toEqual(['2026-11-29', '2026-11-28', '2026-11-27']);
    expect(plan(runs, { copies: 2, days: 4 }).kept.map(day)).toEqual(['2026-11-29', '2026-11-28']);
    // ... which keep_* rules add to.
    expect(plan(runs, { copies: 2, days: 4, weekly: 2 }).kept.map(day)).toEqual(['2026-11-29', '2026-11-28', '2026-11-22']);
    expect(plan(runs, { days: 3, weekly: 2 }).kept.map(day)).toEqual(['2026-11-29', '2026-11-28', '2026-11-22']);
  });

  it('the newest whole run stays even when no rule would keep it', () => {
    // keep_* always keep the newest whole run; retention_days alone may not (every run too old).
    const runs = [runAt('2026-10-01T02:00:00Z'), runAt('2026-09-01T02:00:00Z')];
    const p = plan(runs, { days: 7 });
    expect(p.kept).toEqual([runs[0]]);
    expect(p.reason(runs[0]!)).toBe('the newest whole run is always kept (older than 7 days)');
  });

  it('builds the policy from the destination keys', () => {
    const policy = retentionPolicy({ retention_copies: 2, keep_daily: 7, keep_yearly: 3 });
    expect(policy).toMatchObject({ copies: 2, daily: 7, yearly: 3 });
    expect(hasPolicy(retentionPolicy({ keep_weekly: 1 }))).toBe(true);
    expect(hasPolicy(retentionPolicy({}))).toBe(false);
  });
});
