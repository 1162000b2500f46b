/**
 * `samba`: a folder on an SMB share (Samba or Windows), through Samba's smbclient as the original
 * tool did. Uploads stream into smbclient's stdin (`put - NAME`, no temp file on this machine)
 * under a hidden temporary name beside the target, and are renamed into place only after the
 * stream ended cleanly and smbclient confirmed the write; on failure or abort the temporary file
 * is deleted.
 */
import { defineDestination } from '../types.js';
import { unsafeNameProblem } from './names.js';
import { SambaOptions } from './schema.js';

export const sambaDestination = defineDestination({
  type: 'samba',
  description: 'A folder on an SMB share (Samba, Windows, NAS) through smbclient.',
  get options() {
    return SambaOptions();
  },
  problems(options) {
    const problems: { key: string; message: string }[] = [];
    const username = options.credentials?.username ?? options.username;
    const password = options.credentials?.password ?? options.password;
    if (options.credentials && (options.username || options.password)) {
      problems.push({ key: 'credentials', message: 'give either credentials.username/password or username/password, not both' });
    }
    if (!username) problems.push({ key: 'credentials.username', message: 'required (or the flat "username")' });
    if (!password) problems.push({ key: 'credentials.password', message: 'required (or the flat "password", password_file or ${ENV})' });
    for (const [key, value] of [['username', username], ['password', password], ['workgroup', options.workgroup]] as const) {
      if (value && /[\r\n]/.test(value)) problems.push({ key, message: 'must be a single line' });
    }
    // smbclient's authentication file skips the blanks after "password =".
    if (password && /^[ \t]/.test(password)) problems.push({ key: 'credentials.password', message: 'smbclient cannot take a password that starts with a space or tab' });
    const path = (options.path ?? '').replace(/\\/g, '/').replace(/^\/+|\/+$/g, '');
    if (path && unsafeNameProblem(path)) problems.push({ key: 'path', message: unsafeNameProblem(path)! });
    if (/[/\\"]/.test(options.share)) problems.push({ key: 'share', message: 'the share name only, without slashes (use "path" for a folder inside it)' });
    return problems;
  },
  create: async (options, ctx) => (await import('./create.js')).create(options, ctx),
});
