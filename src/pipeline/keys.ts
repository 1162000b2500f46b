/**
 * Where a run's files live on a destination. The default is what the original tool wrote,
 * `{id}/{timestamp}/{file}` (run start, UTC, YYYYmmddHHMMSS), so existing buckets keep their
 * retention and restore; a `key_template` allows other layouts such as
 * `{hostname}/{date}/{file}`.
 *
 * File names: every artifact of source `db` is named `db.<something>` (`db.sql.zst.gpg`),
 * and the run's manifest is `db.manifest.json`, so a template without `{id}` still tells
 * sources apart.
 *
 * One run, one place: a layout that is not unique per run (`{date}`: two runs a day; or two
 * jobs starting in the same second) gives the second run the same time with a sequence
 * number, rendered as a suffix of every time placeholder: `2026-11-29-2`, `20261129010203-2`.
 * The run key names both: `20261129000000-2`.
 */
import { DEFAULT_KEY_TEMPLATE } from '../config/common.js';
import { validateKeyTemplate } from '../config/key-template.js';
import { formatTimestamp, parseTimestamp } from '../lib/timestamp.js';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Where a run sits in a layout: its time (the day, for date-only layouts) and sequence number. */
export interface RunSlot {
  time: Date;
  /** 1 for the first run at this time; 2, 3, ... for later runs that would share its keys. */
  seq: number;
}

/** `20261129010203` for the first run at a time, `20261129010203-2` for the second. */
export function formatRunKey(slot: RunSlot): string {
  return `${formatTimestamp(slot.time)}${slot.seq > 1 ? `-${slot.seq}` : ''}`;
}

export function parseRunKey(value: string): RunSlot | undefined {
  const m = /^(\d{14})(?:-([2-9]|[1-9]\d+))?$/.exec(value);
  const time = m && parseTimestamp(m[1]!);
  return time ? { time, seq: m[2] ? Number(m[2]) : 1 } : undefined;
}

/** Newest first: by time, then by sequence number. */
export function compareSlotsNewestFirst(a: RunSlot, b: RunSlot): number {
  return b.time.getTime() - a.time.getTime() || b.seq - a.seq;
}

export interface ParsedKey extends RunSlot {
  /** The run's identity: its start as YYYYmmddHHMMSS (00:00:00 for date-only layouts), with `-N` for a later run in the same slot. */
  runKey: string;
  file: string;
}

export class KeyLayout {
  readonly template: string;

  constructor(
    template: string | undefined,
    readonly hostname: string,
  ) {
    this.template = (template ?? DEFAULT_KEY_TEMPLATE).replace(/^\/+/, '');
    validateKeyTemplate(this.template);
  }

  /** Whether runs are told apart only by the day (no `{timestamp}`). */
  get dateOnly(): boolean {
    return !this.template.includes('{timestamp}');
  }

  /** The slot a run started at `started` takes first: date-only layouts keep the day. */
  slotTime(started: Date): Date {
    if (!this.dateOnly) return new Date(Math.floor(started.getTime() / 1000) * 1000);
    return new Date(Date.UTC(started.getUTCFullYear(), started.getUTCMonth(), started.getUTCDate()));
  }

  private render(sourceId: string, slot: RunSlot, file: string): string {
    const day = slot.time.toISOString().slice(0, 10);
    const suffix = slot.seq > 1 ? `-${slot.seq}` : '';
    return this.template
      .replaceAll('{id}', sourceId)
      .replaceAll('{hostname}', this.hostname)
      .replaceAll('{timestamp}', formatTimestamp(slot.time) + suffix)
      .replaceAll('{date}', day + suffix)
      .replaceAll('{yyyy-mm-dd}', day + suffix)
      .replaceAll('{file}', file);
  }

  objectKey(sourceId: string, slot: RunSlot, file: string): string {
    return this.render(sourceId, slot, file);
  }

  manifestKey(sourceId: string, slot: RunSlot): string {
    return this.render(sourceId, slot, manifestFileName(sourceId));
  }

  /**
   * The literal start of every key of one run (up to its file name). Listing it finds the run's
   * objects and possibly others (a later slot's, another source's): filter them with `parse`.
   */
  runPrefix(sourceId: string, slot: RunSlot): string {
    const marker = '\u0000';
    const full = this.render(sourceId, slot, marker);
    return full.slice(0, full.indexOf(marker));
  }

  /** The literal start every key of this source shares: listing never looks outside it. */
  listPrefix(sourceId: string): string {
    const fixed = this.template.replaceAll('{id}', sourceId).replaceAll('{hostname}', this.hostname);
    const cut = fixed.indexOf('{');
    const head = cut === -1 ? fixed : fixed.slice(0, cut);
    // Only whole folders: `db/2024...` lists under `db/`, never `db-old/`.
    return head.slice(0, head.lastIndexOf('/') + 1);
  }

  /** Parses a key into its run, or undefined when it is not a file of this source in this layout. */
  parse(key: string, sourceId: string): ParsedKey | undefined {
    const groups: string[] = [];
    let pattern = '';
    for (const part of this.template.split(/(\{[^}]+\})/)) {
      if (!part) continue;
      if (part === '{id}') pattern += escapeRegExp(sourceId);
      else if (part === '{hostname}') pattern += escapeRegExp(this.hostname);
      else if (part === '{timestamp}') {
        pattern += '(\\d{14})(?:-(\\d+))?';
        groups.push('timestamp', 'timestampSeq');
      } else if (part === '{date}' || part === '{yyyy-mm-dd}') {
        pattern += '(\\d{4}-\\d{2}-\\d{2})(?:-(\\d+))?';
        groups.push('date', 'dateSeq');
      } else if (part === '{file}') {
        pattern += '([^/]+)';
        groups.push('file');
      } else pattern += escapeRegExp(part);
    }
    const m = new RegExp(`^${pattern}$`).exec(key);
    if (!m) return undefined;
    const value = (name: string) => {
      const i = groups.indexOf(name);
      return i === -1 ? undefined : m[i + 1];
    };
    const file = value('file')!;
    if (!this.template.includes('{id}') && !file.startsWith(`${sourceId}.`)) return undefined;
    const stamp = value('timestamp');
    const day = value('date');
    let time: Date | undefined;
    if (stamp) time = parseTimestamp(stamp);
    else if (day) time = parseTimestamp(`${day.replaceAll('-', '')}000000`);
    // Repeated placeholders must agree (a {date} and a {timestamp} of different days is not ours).
    if (!time || (stamp && day && formatTimestamp(time).slice(0, 8) !== day.replaceAll('-', ''))) return undefined;
    const seqText = value('timestampSeq') ?? value('dateSeq');
    if (stamp && day && value('timestampSeq') !== value('dateSeq')) return undefined;
    const seq = seqText === undefined ? 1 : Number(seqText);
    if (!Number.isSafeInteger(seq) || seq < 1 || (seqText !== undefined && (seq < 2 || String(seq) !== seqText))) return undefined;
    const slot = { time, seq };
    return { runKey: formatRunKey(slot), ...slot, file };
  }
}

export function manifestFileName(sourceId: string): string {
  return `${sourceId}.manifest.json`;
}
