import { describe, expect, it } from 'vitest';
import { KeyLayout, formatRunKey, parseRunKey } from '../../src/pipeline/keys.js';
import { planRetention, type StoredRun } from '../../src/pipeline/retention.js';

const NOW = new Date('2026-06-30T12:00:00Z');
const DAY = 86_400_000;

function run(ageDays: number, state: StoredRun['state'] = 'complete'): StoredRun {
  const time = new Date(NOW.getTime() - ageDays * DAY);
  const runKey = time.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return { runKey, time, seq: 1, objects: [{ key: `db/${runKey}/db.sql.gpg`, size: 1 }], claimKeys: [], manifestKey: state === 'legacy' ? undefined : `db/${runKey}/db.manifest.json`, state };
}

const removed = (runs: StoredRun[], policy: Parameters<typeof planRetention>[1], protect: string[] = []) =>
  planRetention(runs, policy, NOW, protect).remove.map((r) => runs.indexOf(r.run));

describe('planRetention', () => {
  it('removes nothing without a policy', () => {
    expect(removed([run(1), run(100)], {})).toEqual([]);
  });

  it('retention_copies keeps the N newest runs', () => {
    const runs = [run(1), run(2), run(3), run(4), run(5)];
    expect(removed(runs, { copies: 3 })).toEqual([3, 4]);
  });

  it('retention_days removes runs older than D days', () => {
    const runs = [run(1), run(6), run(8), run(30)];
    expect(removed(runs, { days: 7 })).toEqual([2, 3]);
  });

  it('with both, a run goes when either says so (the original rule)', () => {
    const runs = [run(1), run(2), run(3), run(10), run(40)];
    expect(removed(runs, { copies: 4, days: 20 })).toEqual([4]);
    expect(removed(runs, { copies: 2, days: 20 })).toEqual([2, 3, 4]);
  });

  it('never removes the newest complete run, even when every run is too old', () => {
    const runs = [run(50), run(60), run(70)];
    expect(removed(runs, { days: 7 })).toEqual([1, 2]);
  });

  it('never removes the run just stored', () => {
    const runs = [run(0.5, 'incomplete'), run(1), run(2)];
    expect(removed(runs, { copies: 1 }, [runs[0]!.runKey])).toEqual([2]);
  });

  it('incomplete runs do not count as copies, so they cannot push out a good one', () => {
    // Two crashed leftovers newer than the only good run: copies=1 must keep the good run.
    const runs = [run(1, 'incomplete'), run(2, 'incomplete'), run(3), run(4)];
    expect(removed(runs, { copies: 1 })).toEqual([3]);
  });

  it('legacy runs (original tool, no manifest) count as complete copies', () => {
    const runs = [run(1), run(20, 'legacy'), run(30, 'legacy')];
    expect(removed(runs, { copies: 2 })).toEqual([2]);
  });
});

describe('KeyLayout', () => {
  const layout = new KeyLayout(undefined, 'web1');
  const t = { time: new Date('2026-03-04T05:06:07Z'), seq: 1 };

  it('defaults to the original layout {id}/{timestamp}/{file}', () => {
    expect(layout.objectKey('db', t, 'db.sql.zst.gpg')).toBe('db/20260304050607/db.sql.zst.gpg');
    expect(layout.manifestKey('db', t)).toBe('db/20260304050607/db.manifest.json');
    expect(layout.listPrefix('db')).toBe('db/');
  });

  it('parses only keys of this source in this layout', () => {
    expect(layout.parse('db/20260304050607/db.sql.zst.gpg', 'db')).toMatchObject({ runKey: '20260304050607', file: 'db.sql.zst.gpg' });
    expect(layout.parse('db-old/20260304050607/x.gpg', 'db')).toBeUndefined();
    expect(layout.parse('db/not-a-date/db.sql.gpg', 'db')).toBeUndefined();
    expect(layout.parse('db/20261304050607/db.sql.gpg', 'db')).toBeUndefined();
    expect(layout.parse('db/20260304050607/sub/db.sql.gpg', 'db')).toBeUndefined();
    expect(layout.parse('other/db/20260304050607/db.sql.gpg', 'db')).toBeUndefined();
  });

  it('supports the README form /{hostname}/{yyyy-mm-dd}/{file}, telling sources apart by file name', () => {
    const dated = new KeyLayout('/{hostname}/{yyyy-mm-dd}/{file}', 'web1');
    expect(dated.objectKey('db', { time: dated.slotTime(t.time), seq: 1 }, 'db.sql.gpg')).toBe('web1/2026-03-04/db.sql.gpg');
    expect(dated.listPrefix('db')).toBe('web1/');
    expect(dated.parse('web1/2026-03-04/db.sql.gpg', 'db')).toMatchObject({ runKey: '20260304000000' });
    expect(dated.parse('web1/2026-03-04/dbx.sql.gpg', 'db')).toBeUndefined();
    expect(dated.parse('web2/2026-03-04/db.sql.gpg', 'db')).toBeUndefined();
  });

  it('rejects templates that cannot tell runs apart', () => {
    expect(() => new KeyLayout('{id}/{file}', 'h')).toThrow(/needs \{timestamp\} or \{date\}/);
    expect(() => new KeyLayout('{id}/{timestamp}', 'h')).toThrow(/must end with \{file\}/);
    expect(() => new KeyLayout('{id}/{when}/{file}', 'h')).toThrow(/unknown placeholder \{when\}/);
    expect(() => new KeyLayout('{id}/../{timestamp}/{file}', 'h')).toThrow(/"\.\."/);
  });

  it('gives a later run in the same slot a suffix on every time placeholder, and parses it back', () => {
    const dated = new KeyLayout('{hostname}/{date}/{file}', 'web1');
    const second = { time: dated.slotTime(t.time), seq: 2 };
    expect(dated.objectKey('db', second, 'db.sql.gpg')).toBe('web1/2026-03-04-2/db.sql.gpg');
    expect(dated.runPrefix('db', second)).toBe('web1/2026-03-04-2/');
    expect(dated.parse('web1/2026-03-04-2/db.sql.gpg', 'db')).toMatchObject({ runKey: '20260304000000-2', seq: 2 });
    expect(dated.parse('web1/2026-03-04-1/db.sql.gpg', 'db')).toBeUndefined();
    expect(dated.parse('web1/2026-03-04-02/db.sql.gpg', 'db')).toBeUndefined();
    expect(layout.objectKey('db', { ...t, seq: 3 }, 'db.tar.gpg')).toBe('db/20260304050607-3/db.tar.gpg');
    expect(layout.parse('db/20260304050607-3/db.tar.gpg', 'db')).toMatchObject({ runKey: '20260304050607-3', seq: 3 });
    expect(parseRunKey('20260304050607-3')).toEqual({ time: t.time, seq: 3 });
    expect(formatRunKey({ time: t.time, seq: 1 })).toBe('20260304050607');
  });
});
