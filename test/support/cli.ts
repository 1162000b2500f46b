/** Runs the built CLI (`bin/backup.js`) as an operator would, capturing output and exit code. */
import { fileURLToPath } from 'node:url';
import { runProgram, type RunOptions, type RunResult } from './run.js';

export const BIN = fileURLToPath(new URL('../../bin/backup.js', import.meta.url));

export type CliResult = RunResult;

export function runCli(args: readonly string[], options: Omit<RunOptions, 'env'> & { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return runProgram(process.execPath, [BIN, ...args], { ...options, env: { ...process.env, ...options.env } });
}

/** Runs a bash command line in which `$BACKUP` is the built CLI (pipes such as `$BACKUP ... | head -1`). */
export function runShellWithCli(shell: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runProgram('bash', ['-c', shell], { env: { ...process.env, ...env, BACKUP: `${process.execPath} ${BIN}` } });
}
