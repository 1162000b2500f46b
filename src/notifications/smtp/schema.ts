import { z } from 'zod';
import { flag, port, text } from '../../config/fields.js';
import { loginFields } from '../credentials.js';
import { lazySchema } from '../../plugin.js';

const addresses = (description: string) =>
  z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .transform((v) => (Array.isArray(v) ? v : v.split(',').map((a) => a.trim()).filter(Boolean)))
    .refine((list) => list.every((a) => a.includes('@')), 'expected e-mail address(es), e.g. "ops@example.org" or ["a@example.org", "b@example.org"]')
    .describe(description);

export const SmtpOptions = lazySchema(() =>
  z.object({
    host: text('SMTP server host name.'),
    port: port('SMTP port. Default 465 with use_ssl, 587 with use_tls, else 25.').optional(),
    ...loginFields(),
    use_tls: flag('1: STARTTLS is required (and the certificate checked). 0: STARTTLS is still used when offered, without checking the certificate.').optional(),
    use_ssl: flag('1: implicit TLS from the first byte (SMTPS, usually port 465).').optional(),
    tls_reject_unauthorized: flag('With use_tls or use_ssl: check the server certificate (default 1). 0 accepts self-signed certificates.').optional(),
    success_to: addresses('Recipient(s) of success mails. Unset: no success mail (the original rule).').optional(),
    failure_to: addresses('Recipient(s) of failure mails. Unset: no failure mail (the original rule).').optional(),
    from: z.string().min(3).optional().describe('Sender address. Default backup-runner@<hostname>.'),
    per_source: flag('1: one mail per source event (start/success/failure) as the original sent; default 0: one summary mail per run.').optional(),
    debug: flag('Accepted for compatibility with the original; ignored (use the -d flag for a debug log).').optional(),
  }),
);
export type SmtpOptions = z.output<ReturnType<typeof SmtpOptions>>;
