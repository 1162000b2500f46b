/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1 and a free port, for mail
 * notifications. It checks AUTH against `users`, keeps every message (raw and parsed with
 * mailparser) and the envelope, and answers STARTTLS / implicit TLS with smtp-server's
 * built-in self-signed certificate.
 *
 *   const smtp = await startSmtpServer({ users: { backups: 's3cret' } });
 *   ... send to smtp.host:smtp.port ...
 *   const [mail] = await smtp.waitForMessages(1);
 *   expect(mail.parsed.subject).toContain('FAILED');
 *   await smtp.close();
 */
import type { AddressInfo, Socket } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope sender and recipients (MAIL FROM / RCPT TO). */
  from: string;
  to: string[];
  /** The user that logged in, if any. */
  user?: string;
  /** Whether the connection was TLS (implicit or after STARTTLS). */
  secure: boolean;
  raw: Buffer;
  parsed: ParsedMail;
}

export interface AuthAttempt {
  username: string;
  method: string;
  ok: boolean;
}

export interface SmtpServerOptions {
  /** Accepted logins. Without users, AUTH is not offered and mail is accepted without it. */
  users?: Record<string, string>;
  /** Implicit TLS from the first byte (SMTPS). */
  secure?: boolean;
  /** Do not offer STARTTLS. */
  hideStartTls?: boolean;
  /**
   * Asked at each connection, login and MAIL FROM (so a test can change the answers between
   * sends): a reply refuses that step with its code (4xx: try again later, 5xx: refused for
   * good), a login refusal replacing the usual 535; `hang` at connect never greets (a server
   * that never answers). Nothing, or no script, goes on as usual.
   */
  script?: (step: SmtpStep) => SmtpReply | 'hang' | undefined;
}

export type SmtpStep = { step: 'connect' } | { step: 'login'; username: string; password: string } | { step: 'mail'; from: string };

export interface SmtpReply {
  code: number;
  message: string;
}

export interface SmtpServerHandle {
  host: string;
  port: number;
  messages: ReceivedMail[];
  authAttempts: AuthAttempt[];
  /** Connections accepted so far (a client opens one per mail it tries to send). */
  connections(): number;
  /** Connections not yet closed (by either side). */
  openConnections(): number;
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<SmtpServerHandle> {
  const messages: ReceivedMail[] = [];
  const authAttempts: AuthAttempt[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const users = options.users;
  let connections = 0;
  const refusal = (reply: SmtpReply) => Object.assign(new Error(reply.message), { responseCode: reply.code });

  const server = new SMTPServer({
    secure: options.secure ?? false,
    hideSTARTTLS: options.hideStartTls ?? false,
    authOptional: !users,
    disabledCommands: users ? [] : ['AUTH'],
    // Plain-text AUTH is allowed so a test can see what a client does without TLS.
    allowInsecureAuth: true,
    logger: false,
    onConnect(_session, callback) {
      connections++;
      const reply = options.script?.({ step: 'connect' });
      if (reply === 'hang') return;
      callback(reply ? refusal(reply) : null);
    },
    onMailFrom(address, _session, callback) {
      const reply = options.script?.({ step: 'mail', from: address.address });
      callback(reply && reply !== 'hang' ? refusal(reply) : null);
    },
    onAuth(auth, _session, callback) {
      const scripted = options.script?.({ step: 'login', username: auth.username ?? '', password: auth.password ?? '' });
      if (scripted && scripted !== 'hang') {
        authAttempts.push({ username: auth.username ?? '', method: auth.method, ok: false });
        callback(refusal(scripted));
        return;
      }
      const ok = !!users && auth.username !== undefined && users[auth.username] === auth.password;
      authAttempts.push({ username: auth.username ?? '', method: auth.method, ok });
      if (!ok) {
        const error = new Error('Invalid username or password') as Error & { responseCode: number };
        error.responseCode = 535;
        callback(error);
        return;
      }
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then((parsed) => {
            messages.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              user: typeof session.user === 'string' ? session.user : undefined,
              secure: session.secure,
              raw,
              parsed,
            });
            for (const waiter of waiters.filter((w) => messages.length >= w.count)) {
              waiters.splice(waiters.indexOf(waiter), 1);
              waiter.resolve();
            }
            callback();
          })
          .catch((error: Error) => callback(error));
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  let open = 0;
  server.server.on('connection', (socket: Socket) => {
    open++;
    socket.once('close', () => open--);
  });

  return {
    host: '127.0.0.1',
    port,
    messages,
    authAttempts,
    connections: () => connections,
    openConnections: () => open,
    waitForMessages(count, timeoutMs = 10_000) {
      if (messages.length >= count) return Promise.resolve(messages.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`smtp: expected ${count} messages, got ${messages.length} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(messages.slice());
          },
        });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
