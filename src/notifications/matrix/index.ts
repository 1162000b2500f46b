/**
 * `matrix`: sends an m.room.message (m.text) with the client-server API:
 * `PUT {url}/_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}`, Bearer token.
 * The transaction id is derived from the run and the event, so a retried request is
 * deduplicated by the homeserver instead of posting twice.
 */
import { defineNotification } from '../types.js';
import { MatrixOptions } from './schema.js';

export const matrixNotification = defineNotification({
  type: 'matrix',
  description: 'Post to a Matrix room (client-server API, access token).',
  get options() {
    return MatrixOptions();
  },
  create: async (options) => (await import('./create.js')).create(options),
});
