/**
 * `gs`: a Google Cloud Storage bucket, through @google-cloud/storage.
 *
 * Atomic put: a resumable upload in chunks. GCS creates the object only when the chunk that
 * carries the total size arrives, and the SDK sends that chunk only after the stream ended
 * cleanly. A failing or aborted stream destroys the upload before that, and the session is
 * then cancelled (DELETE on the session URI), so no object and no half-written session stay.
 */
import { defineDestination } from '../types.js';
import { GsOptions } from './schema.js';

export const gsDestination = defineDestination({
  type: 'gs',
  aliases: ['gcs'],
  description: 'A Google Cloud Storage bucket (resumable uploads, service account key or Application Default Credentials).',
  get options() {
    return GsOptions();
  },
  create: async (options) => (await import('./create.js')).create(options),
});
