#!/usr/bin/env node
/**
 * Generates the man page backup(1) from the CLI's own help (`backup --help`, then each
 * command's `--help`) and the README's job-file summary ("## A job file", with its "How a job
 * file is read" and "Secrets") and exit codes. test/unit/man-page.test.ts keeps docs/backup.1 in
 * step; `npm run man` rewrites it, `npm run release` puts the one of the built executable in the
 * Debian package.
 *
 *   node scripts/release/man.mjs [--cli <executable>] [--out <file>]
 *
 * --cli: the CLI to ask for help (default: node bin/backup.js, which needs `npm run build`).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

/** Roff text: backslashes, and options' hyphens as minus signs (so that they copy as typed). */
function escape(text) {
  return text.replace(/\\/g, '\\e').replace(/(^|[\s(["'`=|,/])(--?)(?=[A-Za-z0-9])/g, (_, before, dashes) => before + dashes.replace(/-/g, '\\-'));
}

/** Literal text (code, option names): every hyphen a minus sign. */
function literalText(text) {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
}

/** A line that starts with . or ' would be a request. */
function line(text) {
  return text.replace(/^([.'])/, '\\&$1');
}

/** Markdown inline markup to roff: `code`, **bold**, [text](link). */
function inline(text) {
  const parts = text.split(/`([^`]+)`/);
  return line(
    parts
      .map((part, i) =>
        i % 2 === 1
          ? `\\fB${literalText(part)}\\fR`
          : escape(part)
              .replace(/\[([^\]]+)\]\(([^)]+)\)/g, '$1')
              .replace(/\*\*([^*]+)\*\*/g, '\\fB$1\\fR'),
      )
      .join(''),
  );
}

/** A code block, each line as it is. */
function literal(lines) {
  return ['.PP', '.RS 4', '.nf', ...lines.map((l) => line(literalText(l))), '.fi', '.RE'];
}

/** The subset of Markdown the README's sections use: paragraphs, ### headings, bullets, fenced code, two-column tables. */
export function markdownToRoff(markdown) {
  const lines = markdown.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; ) {
    const line = lines[i];
    if (line.trim() === '') {
      i++;
    } else if (line.startsWith('```')) {
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i]);
      i++;
      out.push(...literal(code));
    } else if (/^#{3,} /.test(line)) {
      out.push(`.SS ${inline(line.replace(/^#+ /, ''))}`);
      i++;
    } else if (line.startsWith('|')) {
      const rows = [];
      for (; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i].split('|').slice(1, -1).map((c) => c.trim()));
      // The header row and the |---| line go: the section title says what the table is.
      for (const [term, ...rest] of rows.slice(2)) out.push('.TP', inline(term), inline(rest.join(' ')));
    } else if (line.startsWith('- ')) {
      const item = [line.slice(2)];
      for (i++; i < lines.length && /^ {2}\S/.test(lines[i]); i++) item.push(lines[i].trim());
      out.push('.IP \\(bu 2', inline(item.join(' ')));
    } else {
      const paragraph = [];
      for (; i < lines.length && lines[i].trim() !== '' && !/^(```|#|\||- )/.test(lines[i]); i++) paragraph.push(lines[i].trim());
      out.push('.PP', inline(paragraph.join(' ')));
    }
  }
  return out;
}

/** The README section under `heading`, up to the next heading of the same or a higher level. */
export function readmeSection(readme, heading) {
  const lines = readme.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`README.md has no "${heading}" heading`);
  const level = heading.match(/^#+/)[0].length;
  let end = start + 1;
  while (end < lines.length && !(lines[end].match(/^#+ /) && lines[end].match(/^#+/)[0].length <= level)) end++;
  return lines.slice(start + 1, end).join('\n');
}

/** commander's help: usage, description, and sections (Arguments, Options, Commands) of [term, description]. */
export function parseHelp(text) {
  const lines = text.replace(/\n+$/, '').split('\n');
  const usage = lines[0].replace(/^Usage: /, '');
  const description = [];
  const sections = [];
  let i = 1;
  while (i < lines.length && lines[i] === '') i++;
  for (; i < lines.length && lines[i] !== '' && !/^\S.*:$/.test(lines[i]); i++) description.push(lines[i]);
  let section;
  let column = 0;
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    if (/^\S.*:$/.test(line)) {
      section = { title: line.slice(0, -1), entries: [] };
      sections.push(section);
      continue;
    }
    const entry = /^ {2}(\S(?:.*?\S)?)(?: {2,}(\S.*))?$/.exec(line);
    const last = section?.entries.at(-1);
    if (last && column > 0 && line.startsWith(' '.repeat(column)) && line.trim() !== '') last[1] += ` ${line.trim()}`;
    else if (entry && section) {
      section.entries.push([entry[1], entry[2] ?? '']);
      column = entry[2] === undefined ? 0 : line.indexOf(entry[2], 2 + entry[1].length);
    } else throw new Error(`unexpected help line: ${JSON.stringify(line)}`);
  }
  return { usage, description: description.join(' '), sections };
}

function entries(list) {
  return list.flatMap(([term, description]) => ['.TP', `.B ${literalText(term)}`, line(escape(description))]);
}

/** Asks `cli` (argv prefix) for its help and each command's; renders the page. */
export async function renderManPage({ cli = [process.execPath, join(ROOT, 'bin/backup.js')], readme = readFileSync(join(ROOT, 'README.md'), 'utf8'), version } = {}) {
  const help = async (...args) => (await run(cli[0], [...cli.slice(1), ...args, '--help'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, encoding: 'utf8' })).stdout;
  const top = parseHelp(await help());
  const commandList = top.sections.find((s) => s.title === 'Commands')?.entries ?? [];
  const names = commandList.map(([term]) => term.split(' ')[0]).filter((name) => name !== 'help');
  const commands = await Promise.all(names.map(async (name) => ({ name, help: parseHelp(await help(name)) })));
  version ??= JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

  const page = [
    `.\\" Generated by scripts/release/man.mjs from \`backup --help\`, each command's --help and README.md; do not edit.`,
    `.TH BACKUP 1 "" "backup-runner ${version}" "User Commands"`,
    // Left-aligned, no hyphenation: URLs and paths in the help do not justify well.
    '.ad l',
    '.nh',
    '.SH NAME',
    `backup \\- ${escape(top.description.replace(/\.$/, ''))}`,
    '.SH SYNOPSIS',
    '.B backup',
    '[\\fB\\-v\\fR|\\fB\\-d\\fR] \\fIjob\\fR',
    ...commands.flatMap(({ help: h }) => ['.br', `.B ${literalText(h.usage.split(' ').slice(0, 2).join(' '))}`, literalText(h.usage.split(' ').slice(2).join(' '))]),
    '.SH DESCRIPTION',
    // The README's opening paragraphs, under its title.
    ...markdownToRoff(readme.split('\n## ')[0].replace(/^# .*\n/, '')),
    '.PP',
    inline("`backup -v job.json`, the original tool's invocation, is the same as `backup run -v job.json`."),
    '.SH OPTIONS',
    ...entries(top.sections.find((s) => s.title === 'Options')?.entries ?? []),
    '.SH COMMANDS',
    ...commands.flatMap(({ name, help: h }) => [
      `.SS ${escape(name)}`,
      `.B ${literalText(h.usage)}`,
      '.PP',
      line(escape(h.description)),
      ...h.sections.flatMap((section) => ['.PP', `${escape(section.title)}:`, '.RS 4', ...entries(section.entries), '.RE']),
    ]),
    '.SH JOB FILE',
    ...markdownToRoff(readmeSection(readme, '## A job file')),
    '.SH EXIT STATUS',
    ...markdownToRoff(readmeSection(readme, '### Exit codes')),
    '.SH FILES',
    '.TP',
    '.I /etc/backup\\-runner/',
    "job files and their secrets (mode 0700, owned by the \\fBbackups\\fR user in the Debian package)",
    '.TP',
    '.I /lib/systemd/system/backup\\-runner@.timer',
    'nightly run of \\fI/etc/backup\\-runner/<name>.json\\fR: \\fBsystemctl enable \\-\\-now backup\\-runner@<name>.timer\\fR',
    '.TP',
    '.I /etc/cron.d/backup\\-runner',
    'the cron alternative, every line commented out',
    '.SH SEE ALSO',
    '.BR gpg (1),',
    '.BR tar (1),',
    '.BR zstd (1),',
    '.BR systemd.timer (5);',
    'every key of the job file: \\fIdocs/job\\-file.md\\fR (\\fI/usr/share/doc/backup\\-runner/job\\-file.md\\fR in the Debian package).',
    '',
  ];
  return page.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const cli = option('--cli');
  const page = await renderManPage(cli ? { cli: [cli] } : {});
  const out = option('--out');
  if (out) writeFileSync(out, page);
  else process.stdout.write(page);
}
