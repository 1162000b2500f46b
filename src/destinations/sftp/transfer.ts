/**
 * Pipelined SFTP reads and writes. ssh2's own streams keep one request in flight at a time,
 * so every block waits a full round trip; over a WAN link that caps a transfer at
 * block size / latency. These keep several requests outstanding (about 4 MiB), as OpenSSH's
 * sftp client does.
 */
import { Readable, Writable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';

/** 32 KiB of data per request: every SFTP server must accept packets of this size. */
export const BLOCK_SIZE = 32 * 1024;
const MAX_BLOCK_SIZE = 256 * 1024;
const BYTES_IN_FLIGHT = 4 * 1024 * 1024;

export interface BlockSizes {
  read: number;
  write: number;
}

/**
 * Request sizes for this server: what it announced through limits@openssh.com (ssh2 keeps it
 * in private fields; ssh2 is pinned), capped at 256 KiB, else the 32 KiB every server accepts.
 */
export function blockSizes(sftp: SFTPWrapper): BlockSizes {
  const limits = sftp as unknown as { _maxReadLen?: unknown; _maxWriteLen?: unknown };
  const pick = (value: unknown) => (typeof value === 'number' && value >= BLOCK_SIZE ? Math.min(value, MAX_BLOCK_SIZE) : BLOCK_SIZE);
  return { read: pick(limits._maxReadLen), write: pick(limits._maxWriteLen) };
}

function requestsInFlight(blockSize: number): number {
  return Math.max(4, Math.min(64, Math.floor(BYTES_IN_FLIGHT / blockSize)));
}

/** Writes a stream into an open handle from offset 0, with many writes outstanding. */
export class SftpUpload extends Writable {
  private position = 0;
  private outstanding = 0;
  private failed: Error | undefined;
  private waiting: ((error?: Error | null) => void) | undefined;
  private finishing: ((error?: Error | null) => void) | undefined;

  private readonly inFlight: number;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Buffer,
    private readonly blockSize = BLOCK_SIZE,
  ) {
    super({ highWaterMark: blockSize * 4 });
    this.inFlight = requestsInFlight(blockSize);
  }

  get bytesWritten(): number {
    return this.position;
  }

  private settle(): void {
    if (this.failed) {
      const waiting = this.waiting ?? this.finishing;
      this.waiting = this.finishing = undefined;
      waiting?.(this.failed);
      return;
    }
    if (this.waiting && this.outstanding < this.inFlight) {
      const callback = this.waiting;
      this.waiting = undefined;
      callback();
    }
    if (this.finishing && this.outstanding === 0) {
      const callback = this.finishing;
      this.finishing = undefined;
      callback();
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.failed) return callback(this.failed);
    for (let offset = 0; offset < chunk.length; offset += this.blockSize) {
      const piece = chunk.subarray(offset, Math.min(offset + this.blockSize, chunk.length));
      const position = this.position;
      this.position += piece.length;
      this.outstanding++;
      this.sftp.write(this.handle, piece, 0, piece.length, position, (error?: Error | null) => {
        this.outstanding--;
        if (error && !this.failed) this.failed = error;
        this.settle();
      });
    }
    if (this.outstanding < this.inFlight) callback();
    else this.waiting = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.failed) return callback(this.failed);
    if (this.outstanding === 0) return callback();
    this.finishing = callback;
  }
}

interface ReadRequest {
  position: number;
  length: number;
  data?: Buffer;
  done: boolean;
}

/**
 * Reads an open handle from offset 0 to `size` (or EOF) in order, with many reads outstanding.
 * A short read is completed by a follow-up request for the rest before anything after it is
 * pushed. The handle is closed when the stream ends or is destroyed.
 */
export class SftpDownload extends Readable {
  private next = 0;
  private readonly queue: ReadRequest[] = [];
  private ended = false;
  private handleClosed = false;

  private readonly inFlight: number;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Buffer,
    private readonly size: number,
    private readonly blockSize = BLOCK_SIZE,
  ) {
    super({ highWaterMark: blockSize * 4 });
    this.inFlight = requestsInFlight(blockSize);
  }

  private request(position: number, length: number, index = this.queue.length): void {
    const request: ReadRequest = { position, length, done: false };
    this.queue.splice(index, 0, request);
    const buffer = Buffer.allocUnsafe(length);
    this.sftp.read(this.handle, buffer, 0, length, position, (error: Error | undefined, bytesRead: number) => {
      if (this.destroyed) return;
      if (error) {
        this.destroy(error);
        return;
      }
      request.done = true;
      request.data = buffer.subarray(0, bytesRead);
      if (bytesRead > 0 && bytesRead < length && position + bytesRead < this.size) {
        // Short read in the middle of the file: fetch the rest right after this piece.
        this.request(position + bytesRead, length - bytesRead, this.queue.indexOf(request) + 1);
      }
      this.flush();
    });
  }

  private fill(): void {
    while (!this.ended && this.queue.length < this.inFlight && this.next < this.size) {
      const length = Math.min(this.blockSize, this.size - this.next);
      this.request(this.next, length);
      this.next += length;
    }
  }

  private flush(): void {
    let wantMore = true;
    while (this.queue.length > 0 && this.queue[0]!.done) {
      const request = this.queue.shift()!;
      const data = request.data ?? Buffer.alloc(0);
      if (data.length === 0) {
        // EOF before the size stat() reported (the file shrank): end here.
        this.ended = true;
        this.queue.length = 0;
        break;
      }
      wantMore = this.push(data);
    }
    if (this.queue.length === 0 && (this.ended || this.next >= this.size)) {
      this.finish();
      return;
    }
    if (wantMore) this.fill();
  }

  private finish(): void {
    if (this.handleClosed) return;
    this.handleClosed = true;
    this.sftp.close(this.handle, () => this.push(null));
  }

  override _read(): void {
    if (this.size === 0) {
      this.finish();
      return;
    }
    this.fill();
    if (this.queue.length > 0 && this.queue[0]!.done) this.flush();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.handleClosed) {
      this.handleClosed = true;
      this.sftp.close(this.handle, () => undefined);
    }
    callback(error);
  }
}
