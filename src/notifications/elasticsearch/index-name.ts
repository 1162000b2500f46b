/**
 * Index names from the `indexpattern` option: the strftime directives it accepts and the
 * names Elasticsearch refuses. Small on purpose: index.ts checks the pattern (`problems`)
 * without loading the channel's instance.
 */

export const DEFAULT_INDEX_PATTERN = 'backups-%Y';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** strftime on a UTC date, for the directives index names need. Throws on any other directive. */
export function formatIndexName(pattern: string, date: Date): string {
  return pattern.replace(/%(.)/g, (_, directive: string) => {
    switch (directive) {
      case 'Y':
        return String(date.getUTCFullYear());
      case 'y':
        return pad(date.getUTCFullYear() % 100);
      case 'm':
        return pad(date.getUTCMonth() + 1);
      case 'd':
        return pad(date.getUTCDate());
      case 'H':
        return pad(date.getUTCHours());
      case 'M':
        return pad(date.getUTCMinutes());
      case 'S':
        return pad(date.getUTCSeconds());
      case 'j': {
        const start = Date.UTC(date.getUTCFullYear(), 0, 1);
        const today = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
        return pad((today - start) / 86_400_000 + 1, 3);
      }
      case '%':
        return '%';
      default:
        throw new Error(`unsupported directive %${directive} (use %Y %y %m %d %H %M %S %j %%)`);
    }
  });
}

/** Why Elasticsearch would refuse this index name, or undefined when it is valid. */
export function indexNameProblem(name: string): string | undefined {
  if (name !== name.toLowerCase()) return `index names must be lower case ("${name}")`;
  if (/[\\/*?"<>|,# :]/.test(name)) return `index names must not contain \\ / * ? " < > | , # : or spaces ("${name}")`;
  if (/^[-_+]/.test(name) || name === '.' || name === '..') return `index names must not start with - _ + or be . or .. ("${name}")`;
  if (Buffer.byteLength(name) > 255) return 'index names are at most 255 bytes';
  return undefined;
}

/** Why the pattern gives an index name Elasticsearch refuses (or uses a directive it lacks), or undefined. */
export function patternProblem(pattern: string): string | undefined {
  try {
    return indexNameProblem(formatIndexName(pattern, new Date(Date.UTC(2026, 11, 31, 23, 59, 59))));
  } catch (error) {
    return (error as Error).message;
  }
}
