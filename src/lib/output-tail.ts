/**
 * The end of what a program writes, kept while it runs: what goes into the error or report
 * when it fails (the start of a long output rarely says why). Every process runner keeps its
 * program's stderr this way: local programs (src/lib/process.ts), commands on an SSH host
 * (src/sources/ssh/remote-command.ts), and hook commands (their stdout too).
 */
import type { Readable } from 'node:stream';

/** How much is kept by default, in characters. */
export const OUTPUT_TAIL_CHARS = 4096;

export class OutputTail {
  private text = '';

  constructor(private readonly limit = OUTPUT_TAIL_CHARS) {}

  /** Keeps the end of what `stream` writes, with what the other followed streams write. */
  follow(stream: Readable | null | undefined): this {
    stream?.on('data', (chunk: Buffer) => {
      this.text = (this.text + chunk.toString()).slice(-this.limit);
    });
    return this;
  }

  /** What was kept, as written (callers trim and redact). */
  toString(): string {
    return this.text;
  }
}
