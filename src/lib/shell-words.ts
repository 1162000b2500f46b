/**
 * POSIX shell words, both ways: splitting a command line the way a shell splits it (nothing
 * is expanded: `$VAR`, globs and `~` stay literal), and quoting words so a shell reads them
 * back unchanged.
 *
 * Splitting is for strings the original tool put into a shell command line (a dumper's
 * `options`, a hook's `shell: false` command): `--where="id > 5"` and
 * `--ignore-table='shop.big log'` keep meaning what they meant without running a shell.
 * Quoting is for command lines that do go through a shell (the SSH host's).
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

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  // Left bare only when no shell (zsh included: a leading "=" expands there) could change it.
  if (/^[A-Za-z0-9_@%+:,./-][A-Za-z0-9_@%+=:,./-]*$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line from argv, every word quoted. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
