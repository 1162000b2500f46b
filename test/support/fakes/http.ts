/**
 * The plumbing shared by the cloud-service fakes (gcs, b2, dropbox, gdrive): an HTTP server on
 * 127.0.0.1 with an async handler, body reading, JSON answers, and a request log.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: Buffer;
  raw: IncomingMessage;
}

export interface FakeServer {
  url: string;
  port: number;
  /** Every request seen, as "METHOD /path" (no query string: it may hold credentials). */
  log: string[];
  close(): Promise<void>;
}

export type Handler = (req: FakeRequest, res: ServerResponse) => Promise<void> | void;

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('client aborted the request')));
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendBytes(res: ServerResponse, status: number, body: Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': body.length, ...headers });
  res.end(body);
}

export async function startFake(handler: Handler): Promise<FakeServer> {
  const log: string[] = [];
  const server: Server = createServer((raw, res) => {
    const url = new URL(raw.url ?? '/', 'http://127.0.0.1');
    log.push(`${raw.method} ${url.pathname}`);
    readBody(raw)
      .then((body) => handler({ method: raw.method ?? 'GET', url, headers: raw.headers, body, raw }, res))
      .catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: { code: 500, message: `fake failed: ${(error as Error).message}` } });
        else res.destroy();
      });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 with nothing listening (for "unreachable endpoint" tests). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Lexicographic comparison by UTF-8 bytes, as the storage services sort names. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
