/**
 * A small HTTP server on 127.0.0.1 that records every request (method, path, headers, body)
 * and answers what the test programs. For notification channels and HTTP fakes:
 *
 *   const receiver = await startReceiver();            // answers 200 "" by default
 *   receiver.respond((req) => ({ status: 201, json: { result: 'created' } }));
 *   ... send to receiver.url ...
 *   expect(receiver.requests[0]).toMatchObject({ method: 'POST', pathname: '/x' });
 *   await receiver.close();
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path with query string, as sent (`/api/push/abc?status=up`). */
  path: string;
  /** Path without the query string, percent-decoding left as sent. */
  pathname: string;
  query: URLSearchParams;
  /** Header names are lower-case (Node's convention). */
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as UTF-8 text. */
  text: string;
  /** The body parsed as JSON (throws if it is not JSON). */
  json<T = unknown>(): T;
}

export interface ReceiverResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as is. */
  body?: string | Buffer;
  /** Sent as JSON with content-type application/json (overrides body). */
  json?: unknown;
  /** Wait this long before answering (for timeout tests). */
  delayMs?: number;
}

export type ReceiverHandler = (request: RecordedRequest) => ReceiverResponse | undefined | void | Promise<ReceiverResponse | undefined | void>;

export interface Receiver {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  port: number;
  /** Every request received so far, in order. */
  requests: RecordedRequest[];
  /** Replaces the handler that decides the answers. */
  respond(handler: ReceiverHandler): void;
  /** Resolves when at least `count` requests have been recorded (rejects after `timeoutMs`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Forgets the recorded requests. */
  clear(): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, answer: ReceiverResponse | undefined | void): void {
  const headers: Record<string, string> = { ...answer?.headers };
  let body: string | Buffer = answer?.body ?? '';
  if (answer?.json !== undefined) {
    body = JSON.stringify(answer.json);
    headers['content-type'] ??= 'application/json';
  }
  res.writeHead(answer?.status ?? 200, headers);
  res.end(body);
}

export async function startReceiver(handler?: ReceiverHandler): Promise<Receiver> {
  let current: ReceiverHandler = handler ?? (() => undefined);
  const requests: RecordedRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];

  const server = createServer((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        const path = req.url ?? '/';
        const parsed = new URL(path, 'http://receiver');
        const text = body.toString('utf8');
        const recorded: RecordedRequest = {
          method: req.method ?? 'GET',
          path,
          pathname: path.split('?')[0] ?? path,
          query: parsed.searchParams,
          headers: req.headers,
          body,
          text,
          json: <T,>() => JSON.parse(text) as T,
        };
        requests.push(recorded);
        for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
        const answer = await current(recorded);
        if (answer?.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
        if (!res.destroyed) send(res, answer);
      } catch (error) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`receiver handler failed: ${(error as Error).message}`);
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    respond(next) {
      current = next;
    },
    waitForRequests(count, timeoutMs = 5000) {
      if (requests.length >= count) return Promise.resolve(requests.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`receiver: expected ${count} requests, got ${requests.length} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(requests.slice());
          },
        });
      });
    },
    clear() {
      requests.length = 0;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
