/**
 * The long options among a dumper's `options` words (see src/lib/shell-words.ts for the
 * splitting), as MySQL and PostgreSQL programs read them.
 */

/**
 * The long option's name of a word (`--lock-tables=1` → `lock-tables`), without the
 * `loose-`, `skip-`, `disable-`, `enable-` prefixes MySQL programs accept; `negated` tells
 * whether the word turns the option off (`--skip-x`, `--disable-x`, `--x=0|off|false`).
 */
export function longOption(word: string): { name: string; value?: string; negated: boolean } | undefined {
  if (!word.startsWith('--') || word === '--') return undefined;
  let body = word.slice(2);
  let value: string | undefined;
  const eq = body.indexOf('=');
  if (eq >= 0) {
    value = body.slice(eq + 1);
    body = body.slice(0, eq);
  }
  body = body.replace(/_/g, '-');
  if (body.startsWith('loose-')) body = body.slice('loose-'.length);
  let negated = false;
  const prefix = /^(skip|disable|enable)-/.exec(body);
  if (prefix) {
    negated = prefix[1] !== 'enable';
    body = body.slice(prefix[0].length);
  }
  if (value !== undefined && /^(0|off|false)$/i.test(value)) negated = !negated;
  return { name: body, value, negated };
}
