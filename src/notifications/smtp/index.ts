/**
 * `smtp`: e-mail through an SMTP server (nodemailer, imported when a mail is sent). One
 * summary mail per run by default; `per_source: 1` sends the original's mail per source.
 * Success mails go to success_to and failure mails to failure_to; an unset address means no
 * mail of that kind, as in the original.
 */
import { defineNotification } from '../types.js';
import { loginProblems } from '../credentials.js';
import { SmtpOptions } from './schema.js';

export const smtpNotification = defineNotification({
  type: 'smtp',
  description: 'E-mail through an SMTP server: success mails to success_to, failure mails to failure_to.',
  get options() {
    return SmtpOptions();
  },
  problems(options) {
    const problems = loginProblems(options);
    if (options.use_ssl && options.use_tls) problems.push({ key: 'use_tls', message: 'use either use_ssl (implicit TLS) or use_tls (STARTTLS), not both' });
    return problems;
  },
  create: async (options, ctx) => (await import('./create.js')).create(options, ctx),
});
