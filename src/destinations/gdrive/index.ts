/**
 * `gdrive`: a Google Drive folder, through the Drive v3 API (@googleapis/drive) with a
 * service account.
 *
 * Keys map to folders: `db/20260101000000/db.sql.zst.gpg` is the file `db.sql.zst.gpg` in the
 * folder `db/20260101000000` under `folder_id`; folders are created when first needed.
 *
 * Atomic put: a resumable upload session (uploadType=resumable). Drive creates the file only
 * when the chunk carrying the total size arrives, and that chunk is sent only after the stream
 * ended cleanly; a failed or aborted put leaves an unfinished session, which is never listed
 * and expires by itself.
 */
import { defineDestination } from '../types.js';
import { GdriveOptions } from './schema.js';

export const gdriveDestination = defineDestination({
  type: 'gdrive',
  aliases: ['google-drive'],
  description: 'A Google Drive folder (service account, resumable uploads; shared drives supported).',
  get options() {
    return GdriveOptions();
  },
  create: async (options) => (await import('./create.js')).create(options),
});
