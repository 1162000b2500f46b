/**
 * Compression stage. zstd runs as a program: when the source's stream is itself a child's
 * stdout pipe, that pipe is handed straight to zstd's stdin, so the plaintext goes from the
 * dumper to the compressor through the kernel and never through Node. gzip runs in-process
 * (zlib) and needs no program.
 */
import { Socket } from 'node:net';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, constants as zlibConstants } from 'node:zlib';
import type { Compression } from '../config/common.js';
import { PipelineError } from '../errors.js';
import { spawnProgram, stdoutOf, type SpawnedProgram } from '../lib/process.js';
import { pipeThrough } from './streams.js';

export interface CompressedStream {
  stream: Readable;
  /** Rejects when the compressor failed. */
  done: Promise<void>;
  /** Plaintext bytes, when they passed through Node (not on the zstd fast path). */
  rawBytes: () => number | undefined;
}

export const COMPRESSION_SUFFIX: Record<Compression, string> = { zstd: '.zst', gzip: '.gz', none: '' };

/** A child's stdout that can be passed as another child's stdin without Node reading it. */
function isHandOverPipe(stream: Readable): stream is Socket {
  return stream instanceof Socket && (stream as unknown as { _handle?: { fd?: number } })._handle?.fd !== undefined && !stream.readableFlowing;
}

function counter(): { transform: Transform; bytes: () => number } {
  let bytes = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  return { transform, bytes: () => bytes };
}

/**
 * Feeds `input` into a program's stdin; settles when both the feeding and the program are
 * done. A program that died breaks its stdin too (EPIPE): its own exit is the cause, so it is
 * the error reported. Input that failed (a damaged file, a failed decryption) stops the
 * program with SIGTERM: then the input's error is the cause, not the program's death.
 */
function feedProgram(input: Readable, program: SpawnedProgram): Promise<void> {
  let inputFailure: { error: unknown } | undefined;
  const feeding = pipeline(input, program.child.stdin!).catch((error: unknown) => {
    if (!brokenPipe(error)) inputFailure = { error };
    program.child.kill('SIGTERM');
    throw error;
  });
  const done = Promise.allSettled([program.done, feeding]).then(([exit, fed]) => {
    if (inputFailure) throw inputFailure.error;
    if (exit.status === 'rejected') throw exit.reason;
    if (fed.status === 'rejected') throw fed.reason;
  });
  done.catch(() => undefined);
  return done;
}

/** The error a write gets when the program reading has gone. */
function brokenPipe(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED';
}

export interface CompressOptions {
  method: Compression;
  level?: number;
  /** The source id, for error messages. */
  plugin: string;
  signal: AbortSignal;
  zstdCommand?: string;
}

export function compressStream(input: Readable, options: CompressOptions): CompressedStream {
  if (options.method === 'none') {
    const count = counter();
    const stream = input.pipe(count.transform);
    input.once('error', (e) => stream.destroy(e));
    return { stream, done: Promise.resolve(), rawBytes: count.bytes };
  }

  if (options.method === 'gzip') {
    const count = counter();
    const gzip = createGzip({ level: options.level ?? 6 });
    const out = new PassThrough();
    const done = pipeline(input, count.transform, gzip, out).catch((error: unknown) => {
      throw new PipelineError(`gzip failed: ${(error as Error).message}`, { plugin: options.plugin, cause: error });
    });
    done.catch(() => undefined);
    return { stream: out, done, rawBytes: count.bytes };
  }

  const args = ['-q', '-c', `-${options.level ?? 3}`, '-T0'];
  if (isHandOverPipe(input)) {
    const zstd = spawnProgram(options.zstdCommand ?? 'zstd', args, {
      plugin: options.plugin,
      layer: 'pipeline',
      label: 'zstd',
      stdio: [input, 'pipe', 'pipe'],
      signal: options.signal,
    });
    // zstd holds its own copy of the pipe; ours would only keep the pipe alive if zstd died.
    input.destroy();
    return { stream: stdoutOf(zstd), done: zstd.done, rawBytes: () => undefined };
  }
  const count = counter();
  const zstd = spawnProgram(options.zstdCommand ?? 'zstd', args, {
    plugin: options.plugin,
    layer: 'pipeline',
    label: 'zstd',
    stdio: ['pipe', 'pipe', 'pipe'],
    signal: options.signal,
  });
  const counted = pipeThrough(input, count.transform);
  return { stream: stdoutOf(zstd), done: feedProgram(counted, zstd), rawBytes: count.bytes };
}

/** The reverse, for restore and verify. */
export function decompressStream(input: Readable, method: Compression, plugin: string): CompressedStream {
  if (method === 'none') return { stream: input, done: Promise.resolve(), rawBytes: () => undefined };
  if (method === 'gzip') {
    const out = new PassThrough();
    const done = pipeline(input, createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH }), out).catch((error: unknown) => {
      out.destroy(error as Error);
      throw new PipelineError(`gunzip failed: ${(error as Error).message}`, { plugin, cause: error });
    });
    done.catch(() => undefined);
    return { stream: out, done, rawBytes: () => undefined };
  }
  const zstd = spawnProgram('zstd', ['-q', '-d', '-c'], { plugin, layer: 'pipeline', label: 'zstd -d', stdio: ['pipe', 'pipe', 'pipe'] });
  return { stream: stdoutOf(zstd), done: feedProgram(input, zstd), rawBytes: () => undefined };
}

/**
 * `zstd -d` writing straight into `sink`, another program's stdin pipe: the plaintext goes
 * from zstd to that program through the kernel. Resolves when the feeding and zstd are done.
 */
export function decompressZstdInto(input: Readable, sink: Socket, plugin: string): Promise<void> {
  const zstd = spawnProgram('zstd', ['-q', '-d', '-c'], { plugin, layer: 'pipeline', label: 'zstd -d', stdio: ['pipe', sink, 'pipe'] });
  // zstd holds its own end of the pipe: the reader sees the end of input when zstd exits.
  sink.destroy();
  return feedProgram(input, zstd);
}

/** Compression recorded by a stored file's name: `x.tar.zst.gpg` → zstd. */
export function compressionFromFileName(file: string): Compression {
  const plain = file.replace(/\.(gpg|pgp|asc)$/, '');
  if (plain.endsWith('.zst')) return 'zstd';
  if (plain.endsWith('.gz')) return 'gzip';
  return 'none';
}
