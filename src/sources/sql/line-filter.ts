/**
 * A streaming filter that looks only at lines starting with given prefixes (`USE \``,
 * `\connect`) and passes every other byte through untouched, without buffering whole lines:
 * a dump's INSERT lines can be hundreds of megabytes long and hold binary data.
 */
import { Transform, type TransformCallback } from 'node:stream';

const NEWLINE = 0x0a;
/** A line we must rewrite is a short statement; anything longer is not what we are looking for. */
const MAX_CAPTURED_LINE = 1 << 20;

export class LineFilter extends Transform {
  private readonly maxPrefix: number;
  private mode: 'start' | 'pass' | 'capture' = 'start';
  private held: Buffer[] = [];
  private heldLength = 0;

  /**
   * @param prefixes lines starting with one of these (compared as latin1 bytes) go to `rewrite`
   * @param rewrite gets the whole line (utf8, with its newline if it had one) and returns its replacement; may throw to stop the stream
   */
  constructor(
    private readonly prefixes: readonly string[],
    private readonly rewrite: (line: string) => string,
  ) {
    super();
    this.maxPrefix = Math.max(...prefixes.map((p) => Buffer.byteLength(p, 'latin1')));
  }

  private takeHeld(): Buffer {
    const out = Buffer.concat(this.held, this.heldLength);
    this.held = [];
    this.heldLength = 0;
    return out;
  }

  private hold(part: Buffer): void {
    this.held.push(part);
    this.heldLength += part.length;
  }

  private classify(lineEnded: boolean): 'yes' | 'no' | 'maybe' {
    const head = Buffer.concat(this.held, this.heldLength).toString('latin1');
    if (this.prefixes.some((p) => head.startsWith(p))) return 'yes';
    if (!lineEnded && head.length < this.maxPrefix && this.prefixes.some((p) => p.startsWith(head))) return 'maybe';
    return 'no';
  }

  private emitCaptured(): void {
    this.push(Buffer.from(this.rewrite(this.takeHeld().toString('utf8')), 'utf8'));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      let i = 0;
      while (i < chunk.length) {
        const nl = chunk.indexOf(NEWLINE, i);
        if (this.mode === 'pass') {
          if (nl < 0) {
            this.push(chunk.subarray(i));
            break;
          }
          this.push(chunk.subarray(i, nl + 1));
          i = nl + 1;
          this.mode = 'start';
          continue;
        }
        if (this.mode === 'capture') {
          const end = nl < 0 ? chunk.length : nl + 1;
          this.hold(chunk.subarray(i, end));
          if (this.heldLength > MAX_CAPTURED_LINE) throw new Error('a database statement line in the dump is unexpectedly long; refusing to guess');
          i = end;
          if (nl >= 0) {
            this.emitCaptured();
            this.mode = 'start';
          }
          continue;
        }
        // start of a line: collect just enough bytes to compare with the prefixes
        const lineEnd = nl < 0 ? chunk.length : nl;
        const take = Math.min(lineEnd - i, this.maxPrefix - this.heldLength);
        this.hold(chunk.subarray(i, i + take));
        i += take;
        const lineEnded = nl >= 0 && i === lineEnd;
        const verdict = this.classify(lineEnded);
        if (verdict === 'yes') this.mode = 'capture';
        else if (verdict === 'no') {
          this.push(this.takeHeld());
          this.mode = 'pass';
        }
        // 'maybe': the chunk ended inside the prefix; wait for more bytes
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.heldLength > 0) {
        if (this.mode === 'capture') this.emitCaptured();
        else this.push(this.takeHeld());
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}
