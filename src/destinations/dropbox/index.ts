/**
 * `dropbox`: a Dropbox folder, through the official dropbox SDK.
 *
 * put: a stream that fits in one chunk goes up with files/upload; a longer one with an upload
 * session (files/upload_session/start, append_v2, finish), so there is no 150 MB limit. The
 * file appears only when files/upload or upload_session/finish commits it; a failed or aborted
 * put never calls finish, and Dropbox discards unfinished sessions (they expire after a week),
 * so nothing is ever visible half-written.
 */
import { defineDestination } from '../types.js';
import { DropboxOptions } from './schema.js';

export const dropboxDestination = defineDestination({
  type: 'dropbox',
  description: 'A Dropbox folder (upload sessions: no 150 MB limit; access token or refresh token).',
  get options() {
    return DropboxOptions();
  },
  problems(options) {
    if (options.access_token || (options.refresh_token && options.app_key)) return [];
    if (options.refresh_token) return [{ key: 'app_key', message: 'required with refresh_token (the app key of the Dropbox app)' }];
    return [{ key: 'access_token', message: 'set access_token, or refresh_token with app_key (and app_secret)' }];
  },
  create: async (options) => (await import('./create.js')).create(options),
});
