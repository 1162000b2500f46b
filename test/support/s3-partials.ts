/**
 * The unfinished-multipart-upload check that every S3-protocol destination (s3, minio) passes:
 * ListMultipartUploads across pages under the destination's prefix, AbortMultipartUpload, both
 * idempotent, nothing outside the prefix touched.
 */
import { expect } from 'vitest';
import type { Destination } from '../../src/destinations/types.js';
import { listKeys, listPartials } from './destination-contract.js';
import type { FakeS3Server } from './s3-server.js';

/** `make` builds the destination on bucket `backups` with prefix `srv/web1`. */
export async function checkUnfinishedMultipartUploads(server: FakeS3Server, make: (options: { prefix: string }) => Destination | Promise<Destination>): Promise<void> {
  const base = 'srv/web1/';
  const keys = Array.from({ length: 12 }, (_, i) => `left/${String(i).padStart(2, '0')}/db.sql.zst.gpg`);
  // Two uploads of one key (pages may split them), and one outside the prefix.
  const ids = [...keys, keys[0]!].map((key) => server.addUnfinishedUpload('backups', `${base}${key}`));
  const outside = server.addUnfinishedUpload('backups', `${base}other/x.bin`);
  const p = await make({ prefix: 'srv/web1' });
  const found = await listPartials(p, 'left/');
  expect(found.map((f) => f.key).sort()).toEqual([...keys, keys[0]!].sort());
  expect(found.map((f) => f.handle).sort()).toEqual([...ids].sort());
  await p.removePartial!(found);
  await p.removePartial!(found.slice(0, 1)); // already gone: not an error
  expect(await listPartials(p, 'left/')).toEqual([]);
  expect([...server.uploads.keys()]).toContain(outside);
  expect(await listKeys(p, '')).toEqual([]);
  server.uploads.delete(outside);
}
