/**
 * Prometheus' pushgateway (Debian's prometheus-pushgateway) started on 127.0.0.1 and a free
 * port, in memory (no persistence file), optionally behind basic auth (exporter-toolkit's
 * --web.config.file with a bcrypt hash), plus a reader for what it exposes on /metrics.
 *
 *   const pgw = await startPushgateway({ auth: PUSHGATEWAY_TEST_LOGIN });
 *   const samples = await pgw.samples();   // [{ name, labels, value }]
 *   await pgw.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeTempDir } from './tmp.js';

export const PUSHGATEWAY_BINARY = '/usr/bin/prometheus-pushgateway';

/**
 * A login the test pushgateway accepts. The hash is bcrypt (cost 4) of the password, made once
 * with Python's crypt module (libxcrypt); bcrypt is what --web.config.file requires.
 */
export const PUSHGATEWAY_TEST_LOGIN = {
  username: 'pusher',
  password: 'pgw-Secret-7731',
  bcrypt: '$2b$04$UNmLQ1qa2KIVWf9IaYXosOep7U66fpgvlL9e3PT1EBBJYSWP5nCUy',
};

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Pushgateway {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The raw text of /metrics. */
  metricsText(): Promise<string>;
  /** Every sample on /metrics (the pushgateway's own go_* and process_* series included). */
  samples(): Promise<PromSample[]>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Parses the text exposition format: `name{a="b",...} value [timestamp]`. */
export function parsePromText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

export async function startPushgateway(options: { auth?: { username: string; bcrypt: string; password: string } } = {}): Promise<Pushgateway> {
  const tmp = await makeTempDir('br-pgw-');
  const args = ['--persistence.file=', '--log.level=warn'];
  if (options.auth) {
    const config = join(tmp.path, 'web.yml');
    await writeFile(config, `basic_auth_users:\n  ${options.auth.username}: ${options.auth.bcrypt}\n`);
    args.push(`--web.config.file=${config}`);
  }
  const headers: Record<string, string> = options.auth
    ? { authorization: `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}` }
    : {};

  // The port is picked free just before the start; on the rare collision, try again.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let output = '';
    const child: ChildProcess = spawn(PUSHGATEWAY_BINARY, [...args, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = true));

    const deadline = Date.now() + 15_000;
    let ready = false;
    while (!exitedEarly && Date.now() < deadline) {
      try {
        const response = await fetch(`${url}/-/ready`, { headers });
        if (response.ok) {
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!ready) {
      child.kill('SIGKILL');
      await exited;
      if (attempt < 3 && /address already in use/i.test(output)) continue;
      await tmp.remove();
      throw new Error(`pushgateway did not start on ${url}: ${output.trim().slice(-500)}`);
    }

    const metricsText = async () => {
      const response = await fetch(`${url}/metrics`, { headers });
      if (!response.ok) throw new Error(`pushgateway /metrics answered ${response.status}`);
      return response.text();
    };
    return {
      url,
      metricsText,
      samples: async () => parsePromText(await metricsText()),
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        await tmp.remove();
      },
    };
  }
}
