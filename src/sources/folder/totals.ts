/**
 * The archive's size from GNU tar's `--totals` ("Total bytes written: N (...)" on stderr), so
 * folder sources report raw bytes while tar's stdout still goes straight to the compressor
 * through a kernel pipe that Node never reads. The totals line is taken out of warnings and
 * error tails, where it would push out the lines that explain the problem.
 */
import { BackupError, SourceError } from '../../errors.js';
import type { Artifact } from '../types.js';

export const TOTALS_FLAG = '--totals';

const TOTALS = /^Total bytes written: (\d+)\b.*$/m;
/** The totals line inside a one-line " | "-joined tail, or on a line of its own. */
const TOTALS_ANYWHERE = /(\s*\|\s*)?Total bytes written: \d+[^|\n]*/g;

/** Bytes tar wrote, from its stderr; undefined when it printed no totals. */
export function tarTotalBytes(stderr: string): number | undefined {
  const match = TOTALS.exec(stderr);
  return match ? Number(match[1]) : undefined;
}

export function withoutTotals(text: string): string {
  return text.replace(TOTALS_ANYWHERE, '').replace(/\n{2,}/g, '\n').trim();
}

/** A running tar (local or remote) as the pipeline sees it. */
export interface TarProgram {
  done: Promise<void>;
  warnings: string[];
  stderrTail(): string;
}

/** The artifact of a tar started with `--totals`: raw bytes counted, totals kept out of messages. */
export function tarArtifact(name: string, stream: Artifact['stream'], tar: TarProgram): Artifact {
  const warnings: string[] = [];
  const done = tar.done.then(
    () => {
      warnings.push(...tar.warnings.map((w) => withoutTotals(w).replace(/:$/, ': no message')));
    },
    (error: unknown) => {
      throw withoutTotalsInError(error);
    },
  );
  done.catch(() => undefined);
  return { name, stream, done, warnings, rawBytes: () => tarTotalBytes(tar.stderrTail()) };
}

function withoutTotalsInError(error: unknown): unknown {
  if (!(error instanceof BackupError) || !error.stderrTail || tarTotalBytes(error.stderrTail) === undefined) return error;
  return new SourceError(error.message, {
    plugin: error.plugin,
    cause: error.cause,
    exitCode: error.exitCode,
    signal: error.signal,
    stderrTail: withoutTotals(error.stderrTail),
  });
}
