/**
 * The original tool put `options` into a shell command line. We never run a shell, but the
 * string is split the way a POSIX shell splits words, so `--where="id > 5"` and
 * `--ignore-table='shop.big log'` keep meaning what they meant. Nothing is expanded: `$VAR`,
 * globs and `~` stay literal (job-file `${ENV}` substitution already happened at load time).
 */

export class ShellWordsError extends Error {}

/** Splits `input` into words: blanks separate, '…' is literal, "…" honours \" \\ \$ \`, \x outside quotes is x. */
export function splitShellWords(input: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) throw new ShellWordsError(`unbalanced ' quote at position ${i + 1}`);
      word += input.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i++;
      for (;;) {
        if (i >= input.length) throw new ShellWordsError('unbalanced " quote');
        const d = input[i]!;
        if (d === '"') break;
        if (d === '\\' && i + 1 < input.length && '"\\$`\n'.includes(input[i + 1]!)) {
          if (input[i + 1] !== '\n') word += input[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      i++;
      continue;
    }
    if (c === '\\') {
      if (i + 1 >= input.length) throw new ShellWordsError('trailing backslash');
      if (input[i + 1] !== '\n') word += input[i + 1];
      i += 2;
      continue;
    }
    word += c;
    i++;
  }
  if (inWord) words.push(word);
  return words;
}

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
