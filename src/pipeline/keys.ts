/**
 * Where a run's files live on a destination. The default is what the original tool wrote,
 * `{id}/{timestamp}/{file}` (run start, UTC, YYYYmmddHHMMSS), so existing buckets keep their
 * retention and restore; a `key_template` allows other layouts such as
 * `{hostname}/{date}/{file}`.
 *
 * File names: every artifact of source `db` is named `db.<something>` (`db.sql.zst.gpg`),
 * and the run's manifest is `db.manifest.json`, so a template without `{id}` still tells
 * sources apart.
 */
import { DEFAULT_KEY_TEMPLATE } from '../config/common.js';
import { ConfigError } from '../errors.js';

const PLACEHOLDERS = ['id', 'hostname', 'timestamp', 'date', 'yyyy-mm-dd', 'file'] as const;

export function formatTimestamp(time: Date): string {
  return time.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function parseTimestamp(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value);
  if (!m) return undefined;
  const date = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(date.getTime()) || formatTimestamp(date) !== value ? undefined : date;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface ParsedKey {
  /** The run's identity: its start as YYYYmmddHHMMSS (00:00:00 for date-only layouts). */
  runKey: string;
  time: Date;
  file: string;
}

export class KeyLayout {
  readonly template: string;

  constructor(
    template: string | undefined,
    readonly hostname: string,
  ) {
    this.template = (template ?? DEFAULT_KEY_TEMPLATE).replace(/^\/+/, '');
    KeyLayout.validate(this.template);
  }

  static validate(template: string): void {
    const problems: string[] = [];
    for (const m of template.matchAll(/\{([^}]*)\}/g)) {
      if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!)) problems.push(`unknown placeholder {${m[1]}}`);
    }
    if (!template.endsWith('{file}')) problems.push('must end with {file}');
    if (!/\{(timestamp|date|yyyy-mm-dd)\}/.test(template)) problems.push('needs {timestamp} or {date} to tell runs apart');
    if (problems.length) throw new ConfigError(problems.map((message) => ({ path: 'key_template', message })));
  }

  private render(sourceId: string, time: Date, file: string): string {
    const iso = time.toISOString();
    return this.template
      .replaceAll('{id}', sourceId)
      .replaceAll('{hostname}', this.hostname)
      .replaceAll('{timestamp}', formatTimestamp(time))
      .replaceAll('{date}', iso.slice(0, 10))
      .replaceAll('{yyyy-mm-dd}', iso.slice(0, 10))
      .replaceAll('{file}', file);
  }

  objectKey(sourceId: string, time: Date, file: string): string {
    return this.render(sourceId, time, file);
  }

  manifestKey(sourceId: string, time: Date): string {
    return this.render(sourceId, time, manifestFileName(sourceId));
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
        pattern += '(\\d{14})';
        groups.push('timestamp');
      } else if (part === '{date}' || part === '{yyyy-mm-dd}') {
        pattern += '(\\d{4}-\\d{2}-\\d{2})';
        groups.push('date');
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
    return { runKey: formatTimestamp(time), time, file };
  }
}

export function manifestFileName(sourceId: string): string {
  return `${sourceId}.manifest.json`;
}
