/**
 * `backup quickstart`: the embedded default job. Backs up the bundled examples/ folder to a
 * local folder with a passphrase (zstd + OpenPGP), lists it, restores it, and compares the
 * restored tree with the original. No server needed. Inside the single executable
 * (scripts/release) there is no examples/ folder beside the code: its files are an asset of the
 * executable, written to <workdir>/examples and backed up from there.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import * as sea from 'node:sea';
import { fileURLToPath } from 'node:url';
import { loadJobText } from '../config/load.js';
import { ExitCode, describeError, exitCodeFor } from '../errors.js';
import { runJob } from '../pipeline/run.js';
import { restore } from '../pipeline/restore.js';
import { redact } from '../secrets.js';
import { printRunSummary } from './summary.js';
import { makeLogger, type GlobalOptions } from './context.js';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples', import.meta.url));

/** The asset scripts/release/build.mjs embeds: examples/ as [{ path, data (base64) }]. */
export const EMBEDDED_EXAMPLES_ASSET = 'examples.json';

/** The folder to back up: the package's examples/, or the executable's embedded copy written under workdir. */
async function examplesFolder(workdir: string): Promise<string> {
  if (!sea.isSea()) return EXAMPLES_DIR;
  const files = JSON.parse(sea.getAsset(EMBEDDED_EXAMPLES_ASSET, 'utf8')) as Array<{ path: string; data: string }>;
  const folder = resolve(workdir, 'examples');
  await rm(folder, { recursive: true, force: true });
  for (const file of files) {
    const target = resolve(folder, file.path);
    if (!target.startsWith(folder + sep)) throw new Error(`embedded example outside the folder: ${file.path}`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, Buffer.from(file.data, 'base64'));
  }
  return folder;
}

function quickstartJob(workdir: string, passphraseFile: string, examples: string = EXAMPLES_DIR): string {
  return JSON.stringify({
    hostname: 'quickstart',
    tmpdir: resolve(workdir, 'tmp'),
    state_dir: resolve(workdir, 'state'),
    sources: [{ id: 'examples', type: 'folder', name: 'bundled examples', path: examples, passphrase_file: passphraseFile }],
    destinations: [{ id: 'local', type: 'local', path: resolve(workdir, 'store'), create: 1, retention_copies: 3 }],
  });
}

export async function commandQuickstart(options: GlobalOptions & { workdir: string }): Promise<number> {
  process.umask(0o077);
  const { logger } = makeLogger({ ...options, verbose: true });
  const workdir = resolve(options.workdir);
  try {
    await mkdir(workdir, { recursive: true });
    const examples = await examplesFolder(workdir);
    const passphraseFile = resolve(workdir, 'passphrase');
    await writeFile(passphraseFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'w' });
    const jobFile = resolve(workdir, 'quickstart-job.json');
    await writeFile(jobFile, `${JSON.stringify(JSON.parse(quickstartJob(workdir, passphraseFile, examples)), null, 2)}\n`);
    const job = loadJobText(await import('node:fs/promises').then((fs) => fs.readFile(jobFile, 'utf8')), {}, jobFile);

    const report = await runJob(job, { logger, signal: new AbortController().signal });
    printRunSummary(report, process.stdout);
    if (report.status === 'failure') return ExitCode.failed;

    const restored = resolve(workdir, 'restored');
    await rm(restored, { recursive: true, force: true });
    await restore(job, { source: 'examples', run: 'latest', to: restored, extract: true }, logger);
    const { execa } = await import('execa');
    const diff = await execa('diff', ['-r', examples, resolve(restored, 'examples')], { reject: false });
    if (diff.exitCode !== 0) {
      process.stderr.write(`restored tree differs from the original:\n${diff.stdout}\n`);
      return ExitCode.failed;
    }
    const stored = report.sources[0]!.artifacts[0]!.file;
    process.stdout.write(
      [
        '',
        `Backed up ${examples} encrypted to ${resolve(workdir, 'store')}, restored it to ${resolve(restored, 'examples')}: identical.`,
        `Job file: ${jobFile}   passphrase: ${passphraseFile}`,
        `GnuPG reads it too: gpg --batch --pinentry-mode loopback --passphrase-file ${passphraseFile} -d ${resolve(workdir, 'store', 'examples', report.sources[0]!.runKey, stored)} | zstd -d | tar -t`,
        `Next: backup list ${jobFile}; backup verify ${jobFile}`,
        '',
      ].join('\n'),
    );
    return ExitCode.ok;
  } catch (error) {
    process.stderr.write(`backup quickstart: ${redact(describeError(error))}\n`);
    return exitCodeFor(error);
  }
}
