/**
 * Cuts a stream into fixed-size parts for the cloud APIs that upload in pieces (B2 large files,
 * Dropbox upload sessions, Drive resumable sessions). One part is read ahead, so each part
 * knows whether it is the last: those APIs commit the object only with the last part, and a
 * stream that fails or is aborted never produces a last part, so nothing gets committed.
 */
import type { Readable } from 'node:stream';

export interface Part {
  data: Buffer;
  /** Byte offset of this part in the stream. */
  offset: number;
  /** True for the final part (which may be shorter than the part size, or empty for an empty stream). */
  last: boolean;
}

/**
 * Yields parts of exactly `partSize` bytes, then a final part of 1..partSize bytes (or 0 for an
 * empty stream). Rejects when the stream errors or `signal` aborts; never yields a `last` part then.
 */
export async function* readParts(stream: Readable, partSize: number, signal: AbortSignal): AsyncGenerator<Part> {
  if (!Number.isInteger(partSize) || partSize <= 0) throw new RangeError(`part size must be a positive integer, got ${partSize}`);
  signal.throwIfAborted();
  const onAbort = () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('upload aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = 0;
  const take = (size: number): Buffer => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    const data = all.subarray(0, size);
    const rest = all.subarray(size);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    return data;
  };
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array | string);
      if (buffer.length === 0) continue;
      pending.push(buffer);
      pendingBytes += buffer.length;
      // Strictly more than one part buffered: the part about to go is certainly not the last.
      while (pendingBytes > partSize) {
        const data = Buffer.from(take(partSize));
        yield { data, offset, last: false };
        offset += data.length;
        signal.throwIfAborted();
      }
    }
    signal.throwIfAborted();
    const data = Buffer.from(take(pendingBytes));
    yield { data, offset, last: true };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
