/**
 * Part sizes for S3 multipart uploads of streams whose length is unknown in advance.
 *
 * S3's limits: at most 10,000 parts, each 5 MiB to 5 GiB (the last may be smaller), objects up
 * to 5 TiB. A fixed part size big enough for 5 TiB (525 MiB) would make every upload, even a
 * 20 MB dump, hold several 525 MiB buffers in memory. Instead parts grow linearly: part n is
 * `first + (n - 1) * step`, with the smallest step for which 10,000 parts hold 5 TiB. With the
 * default 16 MiB first part, parts grow by about 104 KiB each: about 22 MiB after 1 GiB, 62 MiB
 * after 10 GiB, 145 MiB after 100 GiB, 456 MiB after 1 TiB and 1 GiB at the 5 TiB limit.
 * Memory in use is about (concurrency + 1) x the current part size.
 */

export const MIB = 1024 * 1024;
export const MIN_PART_BYTES = 5 * MIB;
export const MAX_PART_BYTES = 5 * 1024 * MIB;
export const MAX_PARTS = 10_000;
/** S3's largest object: 5 TiB (AWS documents it as "5 TB"). */
export const MAX_OBJECT_BYTES = 5 * 1024 * 1024 * MIB;

export const DEFAULT_FIRST_PART_MIB = 16;

/** The size of each part (1-based part number) for a given first-part size. */
export function partSizer(firstPartBytes: number): (partNumber: number) => number {
  if (!Number.isInteger(firstPartBytes) || firstPartBytes < MIN_PART_BYTES || firstPartBytes > MAX_PART_BYTES) {
    throw new RangeError(`the first part must be between 5 MiB and 5 GiB, got ${firstPartBytes} bytes`);
  }
  const triangle = (MAX_PARTS * (MAX_PARTS - 1)) / 2;
  const step = Math.max(0, Math.ceil((MAX_OBJECT_BYTES - MAX_PARTS * firstPartBytes) / triangle));
  return (partNumber) => Math.min(MAX_PART_BYTES, firstPartBytes + (partNumber - 1) * step);
}

/** Bytes that `parts` parts of this schedule hold in total. */
export function capacityOf(sizeOf: (partNumber: number) => number, parts = MAX_PARTS): number {
  let total = 0;
  for (let n = 1; n <= parts; n++) total += sizeOf(n);
  return total;
}
