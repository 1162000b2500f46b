/**
 * The `smtp` notification's instance. Loaded only when a job uses the channel (index.ts
 * declares it).
 */
import { isIP } from 'node:net';
import { NotificationError } from '../../errors.js';
import { redact, redactedExcerpt } from '../../secrets.js';
import { loginOf } from '../credentials.js';
import { makeWants } from '../events.js';
import { eventBody, eventTitle, isFailure } from '../message.js';
import type { CreateContext } from '../../plugin.js';
import type { NotificationEvent, Notifier, NotificationOptions } from '../types.js';
import type { SmtpOptions } from './schema.js';

interface SmtpFailure extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/**
 * A failure the server gave a 5xx reply for (login refused, sender or recipient rejected):
 * `permanent`, so the dispatcher does not try again (a retried login could lock the account).
 * 4xx replies and connection problems are worth another attempt.
 */
class SmtpRefusedError extends NotificationError {
  readonly permanent = true;
}

function refusedForGood(error: unknown): boolean {
  const code = (error as SmtpFailure).responseCode;
  return code !== undefined && code >= 500 && code < 600;
}

/** Message for an SMTP failure that tells the operator what to fix, with no secret in it. */
export function describeSmtpError(error: unknown, where: string, username: string | undefined): string {
  const e = error as SmtpFailure;
  const reply = e.response ? ` (server said: ${redactedExcerpt(e.response)})` : '';
  const text = `${e.message ?? String(error)}`;
  let message: string;
  if (e.code === 'EAUTH') {
    message = `${where} rejected the login${username ? ` of user "${username}"` : ''}${reply || ` (${text})`}: check the username and password`;
  } else if (/certificate|self[- ]signed|CERT_|unable to verify/i.test(text)) {
    message = `the TLS certificate of ${where} is not trusted (${text}): give the server a trusted certificate, add its CA with NODE_EXTRA_CA_CERTS, or set "tls_reject_unauthorized": 0`;
  } else if (e.code === 'ETIMEDOUT' || /timeout/i.test(text)) {
    message = `${where} did not answer in time (${text})`;
  } else if (e.code === 'ECONNECTION' || e.code === 'ESOCKET' || /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(text)) {
    message = `cannot talk to ${where} (${text}): check host, port, use_ssl and use_tls`;
  } else if (e.code === 'EENVELOPE') {
    message = `${where} refused the sender or recipients${reply || ` (${text})`}`;
  } else {
    message = `sending mail through ${where} failed: ${text}${reply}`;
  }
  return redact(message);
}

/** Settles with `work`, or rejects as soon as `signal` aborts, whatever the send is doing then. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

export function create(options: NotificationOptions<ReturnType<typeof SmtpOptions>>, ctx: CreateContext): Notifier {
  const plugin = options.id ?? 'smtp';
  const defaults = { start: false, success: !!options.success_to, failure: !!options.failure_to };
  // An explicit notify_on_success/failure without its own address falls back to the other one.
  const successTo = options.success_to ?? (options.notify_on_success ? options.failure_to : undefined);
  const failureTo = options.failure_to ?? (options.notify_on_failure ? options.success_to : undefined);
  const startTo = successTo ?? failureTo;
  if (!successTo && !failureTo) {
    ctx.logger.warn({ notification: plugin }, `notification ${plugin}: neither success_to nor failure_to is set, so it never sends a mail`);
  }
  const perSource = options.per_source ?? false;
  const wantsKind = makeWants(options, defaults, { perSource, perRun: !perSource });
  const useSsl = options.use_ssl ?? false;
  const useTls = options.use_tls ?? false;
  const port = options.port ?? (useSsl ? 465 : useTls ? 587 : 25);
  const where = `SMTP server ${options.host}:${port}`;
  const login = loginOf(options);

  const recipientsFor = (event: NotificationEvent): string[] => (event.kind === 'start' ? startTo : isFailure(event) ? failureTo : successTo) ?? [];

  return {
    // The flags decide the kind; a kind without an address sends no mail.
    wants: (event) => wantsKind(event) && recipientsFor(event).length > 0,
    async notify(event, { signal }) {
      const to = recipientsFor(event);
      const run = event.run;
      const sources = event.kind === 'run' ? run.sources : event.source ? [event.source] : [];
      const { default: nodemailer } = await import('nodemailer');
      const transport = nodemailer.createTransport({
        host: options.host,
        port,
        secure: useSsl,
        requireTLS: useTls,
        auth: login ? { user: login.username, pass: login.password } : undefined,
        // Without use_tls/use_ssl the original spoke plain SMTP; STARTTLS is still taken when
        // offered (better than plain text), but without a certificate check, so a relay with a
        // self-signed certificate keeps working as before.
        tls: { rejectUnauthorized: useTls || useSsl ? (options.tls_reject_unauthorized ?? true) : false, ...(isIP(options.host) ? {} : { servername: options.host }) },
        connectionTimeout: 15_000,
        greetingTimeout: 15_000,
        socketTimeout: 30_000,
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      try {
        await untilAborted(
          transport.sendMail({
            from: options.from ?? `backup-runner@${run.hostname}`,
            to,
            subject: eventTitle(event),
            text: eventBody(event),
            headers: {
              'X-Backup-Hostname': run.hostname,
              'X-Backup-Job': run.jobName,
              'X-Backup-Event': event.kind,
              'X-Backup-Status': event.kind === 'run' ? run.status : event.kind === 'start' ? 'running' : (event.source?.status ?? run.status),
              ...(sources.length
                ? { 'X-Backup-Id': sources.map((s) => s.id).join(', '), 'X-Backup-Type': [...new Set(sources.map((s) => s.type))].join(', ') }
                : {}),
            },
            // nodemailer (10.5+) closes the connection of a send its signal abandons.
            signal,
          }),
          signal,
        );
      } catch (error) {
        if (signal.aborted) throw new NotificationError(`${where} timed out`, { plugin, cause: error });
        const Failure = refusedForGood(error) ? SmtpRefusedError : NotificationError;
        throw new Failure(describeSmtpError(error, where, login?.username), { plugin, cause: error });
      } finally {
        transport.close();
      }
    },
  };
}
