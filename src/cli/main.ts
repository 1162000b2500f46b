/**
 * The command line: parse with commander, call the pipeline, map errors to exit codes.
 * `backup [-v|-d] JOB` (the original's invocation) is the same as `backup run JOB`.
 */
import { existsSync } from 'node:fs';
import { Argument, Command, CommanderError, Option } from 'commander';
import { didYouMean } from '../config/nearest.js';
import { ExitCode, describeError, exitCodeFor } from '../errors.js';
import { prewarmEncryptWorker } from '../pipeline/encrypt-worker-pool.js';
import { redact } from '../secrets.js';
import { TOOL_VERSION } from '../version.js';
// Command modules load when their command runs: `backup --help` stays fast.
const commandRun: typeof import('./run.js').commandRun = async (...a) => (await import('./run.js')).commandRun(...a);
const commandValidate: typeof import('./validate.js').commandValidate = async (...a) => (await import('./validate.js')).commandValidate(...a);
const commandSchema = async () => (await import('./validate.js')).commandSchema();
const commandList: typeof import('./restore.js').commandList = async (...a) => (await import('./restore.js')).commandList(...a);
const commandFiles: typeof import('./restore.js').commandFiles = async (...a) => (await import('./restore.js')).commandFiles(...a);
const commandRestore: typeof import('./restore.js').commandRestore = async (...a) => (await import('./restore.js')).commandRestore(...a);
const commandVerify: typeof import('./restore.js').commandVerify = async (...a) => (await import('./restore.js')).commandVerify(...a);
const commandQuickstart: typeof import('./quickstart.js').commandQuickstart = async (...a) => (await import('./quickstart.js')).commandQuickstart(...a);
const commandStatus: typeof import('./status.js').commandStatus = async (...a) => (await import('./status.js')).commandStatus(...a);
const commandHistory: typeof import('./status.js').commandHistory = async (...a) => (await import('./status.js')).commandHistory(...a);
const commandReport: typeof import('./status.js').commandReport = async (...a) => (await import('./status.js')).commandReport(...a);
const commandPrune: typeof import('./prune.js').commandPrune = async (...a) => (await import('./prune.js')).commandPrune(...a);
const commandVzdumpHook: typeof import('./vzdump.js').commandVzdumpHook = async (...a) => (await import('./vzdump.js')).commandVzdumpHook(...a);
const commandCompletion = async (shell: string, program: Command) => (await import('./completion.js')).commandCompletion(shell, program);
const commandComplete = async (...a: Parameters<typeof import('./completion.js').commandComplete>) => (await import('./completion.js')).commandComplete(...a);
const commandInit = async (...a: Parameters<typeof import('./init.js').commandInit>) => (await import('./init.js')).commandInit(...a);
import type { GlobalOptions } from './context.js';

const KNOWN_COMMANDS = new Set(['run', 'validate', 'schema', 'list', 'files', 'restore', 'verify', 'prune', 'quickstart', 'help', 'status', 'history', 'report', 'vzdump-hook']);
// Shell completion, job-file creation, and the hidden helper the completion scripts call.
for (const command of ['completion', 'init', '__complete']) KNOWN_COMMANDS.add(command);

const SINCE = ['--since <when>', 'only runs started since then: a duration back from now (36h, 7d) or a date (2026-03-01, 2026-03-01T02:00:00Z)'] as const;

const STRICT = ['--strict', 'unknown keys in the job file are errors (by default a key not close to a known one is ignored with a warning)'] as const;

function addLogOptions(command: Command): Command {
  return command
    .option('-v, --verbose', 'log progress (info level)')
    .option('-d, --debug', 'log everything (debug level)')
    .addOption(new Option('--log-format <format>', 'text lines or JSON lines').choices(['text', 'json']).default('text'));
}

function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command();
  program
    .name('backup')
    .description('Dump, compress, encrypt (OpenPGP), store, prune and report backups described by a JSON job file.')
    .version(TOOL_VERSION)
    .showHelpAfterError()
    .exitOverride();

  const run = addLogOptions(program.command('run').argument('<job>', 'job file (JSON; comments allowed)').description('run the job: back up every source to every destination'))
    .option('--dry-run', 'load and check the job, test that sources and destinations are reachable, print the plan; store nothing')
    .option('--only <ids>', 'run only these sources (comma separated ids)')
    .option(STRICT[0], STRICT[1]);
  run.action(async (job: string, opts: GlobalOptions & { dryRun?: boolean; only?: string; strict?: boolean }) => {
    // The encryption worker starts on another core while the run's code and job file load.
    if (!opts.dryRun) prewarmEncryptWorker();
    setCode(await commandRun(job, opts));
  });

  addLogOptions(program.command('validate').argument('<job>').description('check a job file; print every problem with its place'))
    .option(STRICT[0], STRICT[1])
    .action(async (job: string, opts: GlobalOptions & { strict?: boolean }) => setCode(await commandValidate(job, opts)));

  program
    .command('schema')
    .description('print the JSON Schema of job files (for editors)')
    .action(async () => setCode(await commandSchema()));

  addLogOptions(program.command('list').argument('<job>').description('list the runs stored on each destination'))
    .option('--source <id>', 'only this source')
    .option('--destination <id>', 'only this destination')
    .option('--json', 'machine-readable output')
    .action(async (job: string, opts) => setCode(await commandList(job, opts)));

  addLogOptions(
    program
      .command('files')
      .argument('<job>')
      .argument('[pattern...]', 'only the paths matching these globs (GNU tar --wildcards: * also matches /, a folder matches what is under it; as printed, e.g. "data/sub/*.txt")')
      .description('list the paths inside a stored tar run (type and mode, owner, size, mtime UTC, path), streamed; exit 1 when the stored file fails its checks'),
  )
    .option('--source <id>', 'the source (may be left out when the job has one source)')
    .option('--run <run>', 'latest (the newest whole run), or a run key as `backup list` shows it', 'latest')
    .option('--destination <id>', 'read from this destination (default: the first that has the run)')
    .option('--identity <file>', 'armored private key for recipient-encrypted backups (default: the gpg keyring)')
    .action(async (job: string, patterns: string[], opts) => setCode(await commandFiles(job, patterns, opts)));

  addLogOptions(program.command('restore').argument('<job>').description('download, decrypt and decompress a stored run'))
    .option('--source <id>', 'the source to restore (may be left out when the job has one source)')
    .option('--run <run>', 'latest (the newest whole run), or a run key as `backup list` shows it (YYYYmmddHHMMSS[-N])', 'latest')
    .option('--destination <id>', 'restore from this destination (default: the first that has the run)')
    .option('--to <dir>', 'folder to write the restored files to, or - for stdout')
    .option('--extract', 'unpack tar archives into the --to folder')
    .option('--path <pattern>', 'with --extract: only the paths matching this glob, as `backup files` prints them (repeatable); one that matches nothing is an error', (value: string, previous: string[] = []) => [...previous, value])
    .option('--artifact <name>', 'only this dump of the run (e.g. shop.sql when a source dumps several databases)')
    .option('--to-database <name>', 'load a database dump into this database (refuses a non-empty one)')
    .option('--force', 'with --to-database: load into a database that is not empty; with --extract: merge into a folder that is not empty (files of the backup replace those of the same name)')
    .option('--identity <file>', 'armored private key for recipient-encrypted backups (default: the gpg keyring); its passphrase from BACKUP_IDENTITY_PASSPHRASE')
    .action(async (job: string, opts) => setCode(await commandRestore(job, opts)));

  addLogOptions(program.command('verify').argument('<job>').description('check the newest run of each source is whole, then its hashes, decryption, decompression, tar listing'))
    .option('--source <id>', 'only this source')
    .option('--run <run>', 'check this run (a run key as `backup list` shows it) instead of the newest whole run')
    .option('--all', 'check every whole run on every destination, not only the newest')
    .option('--spot <n>', 'folder sources: compare N random files of the newest run with the live folder (sha256), report files that differ, vanished or are new')
    .option('--spot-tolerance <percent>', 'with --spot: fail when more than this percent of the compared files differ or vanished, or of the run\'s files are new (default 10)')
    .option('--destination <id>', 'only this destination')
    .option('--identity <file>', 'armored private key for recipient-encrypted backups')
    .action(async (job: string, opts) => setCode(await commandVerify(job, opts)));

  addLogOptions(program.command('prune').argument('<job>').description('apply retention now (taking the job lock like a run) and print, per run, which rule keeps it or why it goes'))
    .option('--dry-run', 'print the plan; remove nothing')
    .option('--source <id>', 'only this source')
    .option('--destination <id>', 'only this destination')
    .action(async (job: string, opts) => setCode(await commandPrune(job, opts)));

  addLogOptions(program.command('quickstart').description('demo: encrypted backup of the bundled examples/ folder to a local folder, then restore and compare'))
    .option('--workdir <dir>', 'where the demo stores and restores', 'backup-quickstart')
    .action(async (opts: GlobalOptions & { workdir: string }) => setCode(await commandQuickstart(opts)));

  addLogOptions(
    program
      .command('status')
      .argument('<job>', 'job file')
      .description('per source: last run, last success, success rate, average duration, size trend; exit 1 when a source is OVERDUE (max_age)'),
  )
    .option('--json', 'machine-readable output')
    .option('--source <ids>', 'only these sources (comma separated ids)')
    .option(SINCE[0], 'success rate, average time and size trend over the runs started since then (a duration back from now: 7d, or a date); last success and OVERDUE always look at every run')
    .option('--notify', "send an OVERDUE failure to the job's alerting notification channels")
    .action(async (job: string, opts) => setCode(await commandStatus(job, opts)));

  addLogOptions(program.command('history').argument('<job>', 'job file').description('the recorded runs of the job, one line per source run'))
    .option('--source <ids>', 'only these sources (comma separated ids)')
    .option(SINCE[0], SINCE[1])
    .option('--json', 'JSON array of records')
    .option('--csv', 'CSV (RFC 4180) with a header line')
    .action(async (job: string, opts) => setCode(await commandHistory(job, opts)));

  addLogOptions(
    program
      .command('report')
      .argument('<job>', 'job file')
      .description('one self-contained HTML page from the run history and the destinations: status timeline, sizes, durations, age against max_age, runs stored'),
  )
    .requiredOption('--html <file>', 'write the page to this file (- for stdout)')
    .option(SINCE[0], SINCE[1])
    .option('--source <ids>', 'only these sources (comma separated ids)')
    .option('--no-destinations', 'do not list the destinations (history only)')
    .action(async (job: string, opts) => setCode(await commandReport(job, opts)));

  program
    .command('vzdump-hook')
    .description('Proxmox VE vzdump hook: encrypt and store each guest archive and its log, notify at job-end (see src/vzdump/README.md)')
    .argument('<job>', 'job file with a source of type "vzdump"')
    .argument('[phase]', 'vzdump phase: job-init, job-start, backup-start, pre-stop, pre-restart, post-restart, backup-end, backup-abort, log-end, job-end, job-abort')
    .argument('[mode]', 'guest phases: the backup mode (stop, suspend, snapshot)')
    .argument('[vmid]', 'guest phases: the guest id')
    .option('--check', 'test the job as the hook will use it (loads, has a vzdump source, keys, destinations reachable, state folder); exit 1 or 2 when not')
    .option('-d, --debug', 'log everything (debug level)')
    .action(async (job: string, phase: string | undefined, mode: string | undefined, vmid: string | undefined, opts: { debug?: boolean; check?: boolean }) =>
      setCode(await commandVzdumpHook(job, phase, mode, vmid, opts)),
    );

  program
    .command('completion')
    .description('print a shell completion script: bash, zsh or fish (see the README to enable it)')
    .addArgument(new Argument('<shell>', 'the shell: bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .action(async (shell: string) => setCode(await commandCompletion(shell, program)));

  program
    .command('__complete', { hidden: true })
    .description('helper of the completion scripts: `__complete ids JOB source|destination` prints the ids of a job file')
    .argument('<what>')
    .argument('[args...]')
    .action(async (what: string, args: string[]) => setCode(await commandComplete(what, args)));

  program
    .command('init')
    .description('write a commented job file (JSONC) from --source, --dest and --notify, with its secret files next to it')
    .option('--source <spec>', 'folder:/etc (or /etc), ssh://user@host/path, mysql://user[:password]@host[:port]/db, pgsql://user[:password]@host[:port]/db; repeatable, [id=]spec names it', collect)
    .option('--dest <spec>', 'local:/mnt/backup (or /mnt/backup), s3://bucket/prefix, b2://bucket/prefix, gs://bucket/prefix, minio://host:port/bucket/prefix, sftp://user@host[:port]/path; repeatable', collect)
    .option('--notify <spec>', 'uptime-kuma:URL, healthchecks:URL, ntfy:URL, webhook:URL, slack:URL, discord:URL, telegram:CHAT_ID, email:ADDRESS, flagfile:PATH; repeatable', collect)
    .option('--recipient <keyfile>', 'encrypt to this OpenPGP public key file instead of a generated passphrase; repeatable', collect)
    .option('--out <file>', 'the job file to write (its name is the job\'s name in manifests and locks)', 'nightly.jsonc')
    .option('--force', 'overwrite an existing job file (secret files that exist are kept, never overwritten)')
    .action(async (opts) => setCode(await commandInit(opts)));
  return program;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Options of the original's invocation (`backup [options] JOB`) that take a value. */
const RUN_VALUE_OPTIONS = new Set(['--log-format', '--only']);

/** The first argument that is neither an option nor an option's value. */
function firstOperand(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (RUN_VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** `backup -v job.json` → `backup run -v job.json`. */
export function normaliseArgv(argv: readonly string[]): string[] {
  const args = argv.slice(2);
  const first = firstOperand(args);
  const wantsTopLevel = args.some((a) => ['-h', '--help', '-V', '--version'].includes(a)) && !first;
  if (first === undefined || KNOWN_COMMANDS.has(first) || wantsTopLevel) return [...argv];
  return [...argv.slice(0, 2), 'run', ...args];
}

/**
 * `backup frobnicate`: a word that is not a command and not a file is a usage error that says
 * so, rather than "cannot read job file frobnicate". Something that looks like a path
 * (a "/" or a .json ending) is left to the loader, whose message names the path.
 */
export function unknownCommandMessage(argv: readonly string[], exists: (path: string) => boolean = existsSync): string | undefined {
  const first = firstOperand(argv.slice(2));
  if (first === undefined || KNOWN_COMMANDS.has(first) || first.includes('/') || /\.jsonc?$/i.test(first) || exists(first)) return undefined;
  const commands = [...KNOWN_COMMANDS].filter((c) => c !== 'help' && !c.startsWith('_'));
  return `backup: "${first}" is neither a command (${commands.join(', ')}) nor a job file${didYouMean(first, commands)}`;
}

export async function main(argv: readonly string[]): Promise<number> {
  // A reader that goes away (`backup schema | head`, `backup -v job.json 2>&1 | head -1`) never
  // ends or fails a command by itself: output to it stops, the work and the exit status go on.
  // A command whose output is the product (restore --to -) sees the error on its own writes.
  for (const out of [process.stdout, process.stderr]) out.on('error', () => undefined);
  let code: number = ExitCode.ok;
  const program = buildProgram((c) => (code = c));
  // Without arguments there is nothing to do: the help goes to stderr, and it is a usage error.
  if (argv.length <= 2) {
    process.stderr.write(program.helpInformation());
    return ExitCode.usage;
  }
  const unknown = unknownCommandMessage(argv);
  if (unknown) {
    process.stderr.write(`${unknown}\n`);
    return ExitCode.usage;
  }
  try {
    await program.parseAsync(normaliseArgv(argv));
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage;
    }
    process.stderr.write(`backup: ${redact(describeError(error))}\n`);
    return exitCodeFor(error);
  }
  return code;
}
