/** FIFO of byte chunks from which exact counts are taken as views, without copying. */
export class ByteQueue<Chunk extends Uint8Array = Uint8Array> {
  private parts: Chunk[] = [];
  bytes = 0;

  push(part: Chunk): void {
    if (part.length === 0) return;
    this.parts.push(part);
    this.bytes += part.length;
  }

  /** The length of the first chunk (0 when empty): what can be taken without splitting a chunk. */
  get headLength(): number {
    return this.parts[0]?.length ?? 0;
  }

  /** Removes the first `n` bytes (n ≤ bytes), as a list of views. */
  take(n: number): Chunk[] {
    const out: Chunk[] = [];
    while (n > 0) {
      const head = this.parts[0]!;
      if (head.length <= n) {
        out.push(head);
        this.parts.shift();
        n -= head.length;
        this.bytes -= head.length;
      } else {
        // subarray keeps the subclass (a Buffer's view is a Buffer).
        out.push(head.subarray(0, n) as Chunk);
        this.parts[0] = head.subarray(n) as Chunk;
        this.bytes -= n;
        n = 0;
      }
    }
    return out;
  }

  takeAll(): Chunk[] {
    return this.take(this.bytes);
  }
}
