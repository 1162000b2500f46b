import { z } from 'zod';
import { port, secret, text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const SambaCredentials = lazySchema(() =>
  z
    .object({
      username: text('SMB user name.'),
      password: secret('SMB password'),
    })
    .strict()
    .describe('The SMB account (the original\'s nested form; flat username/password work too).'),
);

export const SambaOptions = lazySchema(() =>
  z.object({
    host: text('Samba / Windows server: DNS name or IP address.'),
    share: text('Share to store backups on.'),
    workgroup: text('Domain or workgroup of the account (default: the client\'s smb.conf setting, usually WORKGROUP).').optional(),
    credentials: SambaCredentials().optional(),
    username: text('SMB user name (flat form of credentials.username).').optional(),
    password: secret('SMB password (flat form of credentials.password)').optional(),
    port: port('TCP port of the SMB server (default 445).').optional(),
    path: z.string().optional().describe('Folder inside the share that holds the backups (created when missing). Default: the share\'s root.'),
    suffix: z
      .string()
      .optional()
      .describe(
        'Original tool: suffix for created files. Accepted and ignored: stored names already end with the extension of each layer (.zst/.gz, then .gpg when encrypted).',
      ),
  }),
);
export type SambaOptions = z.output<ReturnType<typeof SambaOptions>>;
