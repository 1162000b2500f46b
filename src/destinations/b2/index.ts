/**
 * `b2`: a Backblaze B2 bucket, through the native B2 API (backblaze-b2).
 *
 * put: the stream is cut into parts (100 MB by default). A stream that ends within the first
 * part goes up with one b2_upload_file; a longer one becomes a large file (b2_start_large_file,
 * b2_upload_part with each part's SHA-1, b2_finish_large_file). A large file is visible only
 * once finished; on a stream error or abort the large file is cancelled (b2_cancel_large_file),
 * so nothing stays listed and no unfinished parts are billed. A large file left by a killed
 * run is a partial upload (b2_list_unfinished_large_files), swept by b2_cancel_large_file.
 */
import { defineDestination } from '../types.js';
import { B2Options } from './schema.js';

export const b2Destination = defineDestination({
  type: 'b2',
  aliases: ['backblaze'],
  description: 'A Backblaze B2 bucket (native API; large files in parts, cancelled on failure).',
  get options() {
    return B2Options();
  },
  create: async (options) => (await import('./create.js')).create(options),
});
