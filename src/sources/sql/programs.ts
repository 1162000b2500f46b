/**
 * Running the database client programs: picking the installed one, short queries, and
 * feeding a dump into a loader (mysql, psql, pg_restore) without ever letting a broken
 * input look like a complete one.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Writable, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SourceError } from '../../errors.js';
import { spawnProgram, type SpawnedProgram } from '../../lib/process.js';

/** True when `name` is an executable on PATH (or an executable path). */
export function isInstalled(name: string, path = process.env.PATH ?? ''): boolean {
  const candidates = name.includes('/') ? [name] : path.split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  return candidates.some((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The first of `names` found on PATH, else the last one (so "not found" names the usual program). */
export function firstInstalled(names: readonly string[]): string {
  return names.find((name) => isInstalled(name)) ?? names[names.length - 1]!;
}

export interface ClientRun {
  plugin: string;
  label?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  signal?: AbortSignal;
}

/** Runs a client for a short query and returns its stdout; rejects (SourceError with stderr tail) on failure. */
export async function runClient(command: string, args: readonly string[], run: ClientRun): Promise<string> {
  const program = spawnProgram(command, args, {
    plugin: run.plugin,
    label: run.label,
    env: run.env,
    signal: run.signal,
    stdio: [run.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  program.child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
  // A client that fails before reading its input closes the pipe: EPIPE is not the error to report.
  program.child.stdin?.on('error', () => undefined);
  program.child.stdin?.end(run.input);
  await program.done;
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Pipes `dump` (through `filters`) into the loader's stdin and waits for the loader.
 *
 * When the input fails (a truncated download, a failed decryption, a filter refusing the
 * dump) the loader is killed BEFORE its stdin is closed: psql --single-transaction commits
 * whatever it read when its input simply ends, so ending stdin on a broken input would
 * commit a partial restore.
 */
export async function feedLoader(dump: Readable, filters: readonly Transform[], loader: SpawnedProgram): Promise<void> {
  const stdin = loader.child.stdin;
  if (!stdin) throw new SourceError('loader stdin is not piped');
  stdin.on('error', () => undefined);
  let loaderExited = false;
  loader.child.once('close', () => (loaderExited = true));

  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (loaderExited || stdin.destroyed) return callback(new SourceError('the loader exited before reading the whole dump'));
      if (stdin.write(chunk)) return callback();
      const onDrain = () => {
        loader.child.off('close', onClose);
        callback();
      };
      const onClose = () => {
        stdin.off('drain', onDrain);
        callback(new SourceError('the loader exited before reading the whole dump'));
      };
      stdin.once('drain', onDrain);
      loader.child.once('close', onClose);
    },
    final(callback) {
      stdin.end(() => callback());
    },
    destroy(error, callback) {
      if (error && !loaderExited) loader.child.kill('SIGKILL');
      callback(error);
    },
  });

  let inputError: unknown;
  try {
    await pipeline([dump, ...filters, sink]);
  } catch (error) {
    inputError = error;
    if (!loaderExited) loader.child.kill('SIGKILL');
  }
  let loaderError: unknown;
  await loader.done.catch((error: unknown) => (loaderError = error));
  stdin.destroy();
  // The input's own error explains a killed loader; otherwise the loader's message (SQL error) is the one to show.
  if (inputError && !(inputError instanceof SourceError && /loader exited/.test(inputError.message))) throw inputError;
  if (loaderError) throw loaderError;
  if (inputError) throw inputError;
}
