/**
 * Logging through pino. Every line passes through the redactor before it is written, so a
 * secret that reaches a log call by accident (in an error from a library, say) is masked.
 * Text format: readable lines for terminals and cron mail; json: one object per line.
 */
import { Writable } from 'node:stream';
import { pino, type Logger as PinoLogger, type Level } from 'pino';
import { redact } from './secrets.js';

export type Logger = PinoLogger;
export type LogFormat = 'text' | 'json';

export interface LoggerOptions {
  /** Lowest level written to the destination. Lines down to `info` still reach `onLine`. */
  level: Level | 'silent';
  format: LogFormat;
  /** Where lines go; stderr by default so `restore --to -` keeps stdout for data. */
  destination?: NodeJS.WritableStream;
  /** Receives each formatted, redacted line (the run report's log tail). */
  onLine?: (line: string) => void;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

export function formatTextLine(record: Record<string, unknown>): string {
  const time = new Date(typeof record.time === 'number' ? record.time : Date.now()).toISOString().slice(11, 19);
  const level = LEVEL_NAMES[Number(record.level)] ?? String(record.level);
  const extras = Object.entries(record)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${level.padEnd(5)} ${String(record.msg ?? '')}${extras ? ` ${extras}` : ''}`;
}

/**
 * A closed log output (`backup -v job.json 2>&1 | head -1`, a terminal that went away) must
 * never end or fail the run: its errors (EPIPE) are swallowed and nothing more is written to it.
 */
const guarded = new WeakSet<NodeJS.WritableStream>();
function survivesClosedReader(out: NodeJS.WritableStream): void {
  if (guarded.has(out)) return;
  guarded.add(out);
  out.on('error', () => undefined);
}

function gone(out: NodeJS.WritableStream): boolean {
  const stream = out as NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean };
  return stream.destroyed === true || stream.writableEnded === true || !out.writable;
}

const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

class RedactingSink extends Writable {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly format: LogFormat,
    private readonly minLevel: number,
    private readonly onLine?: (line: string) => void,
  ) {
    super();
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    for (const raw of chunk.toString().split('\n')) {
      if (!raw) continue;
      const safe = redact(raw);
      let record: Record<string, unknown> = {};
      try {
        record = JSON.parse(safe) as Record<string, unknown>;
      } catch {
        // not JSON: written as it is
      }
      const text = record.msg !== undefined ? formatTextLine(record) : safe;
      this.onLine?.(text);
      if (Number(record.level ?? 30) >= this.minLevel && !gone(this.out)) this.out.write(`${this.format === 'text' ? text : safe}\n`);
    }
    callback();
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const minLevel = LEVEL_VALUES[options.level] ?? 30;
  const out = options.destination ?? process.stderr;
  survivesClosedReader(out);
  const sink = new RedactingSink(out, options.format, minLevel, options.onLine);
  // Produce info lines even when the terminal shows only warnings: they feed the log tail.
  const produced = options.onLine && minLevel > 30 ? 'info' : options.level;
  return pino(
    {
      level: produced,
      base: undefined,
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { level: (_label, number) => ({ level: number }) },
      serializers: { err: (e: unknown) => (e instanceof Error ? e.message : String(e)) },
    },
    sink,
  );
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = pino({ level: 'silent' });
