/**
 * The credentials wrapper of the SSH database sources (remote-secret.ts) run through the code
 * path those sources use (connectSsh, runRemote, captureRemote) against the test sshd: the
 * remote credentials file must not outlive the connection, even while the remote dumper is
 * silent (sshd sends no SIGHUP to a session without a terminal, a silent dumper gets no
 * SIGPIPE). The "remote" host is this machine, so the test sees the file and the processes.
 */
import { randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { connectSsh, type ErrorFactory, type SshSession } from '../../src/lib/ssh/connection.js';
import { captureRemote, runRemote, type RemoteProgram } from '../../src/sources/ssh/remote-command.js';
import { remoteScript } from '../../src/sources/ssh/remote-secret.js';
import { describeWith } from '../support/binaries.js';
import { startSshd, type SshdServer } from '../support/sshd.js';

const SECRET = `[client]\npassword="s3cr3t 'quoted' $(id) ✓"\n`;
const DEADLINE_MS = 10_000;

const fail: ErrorFactory = (message, options) => new SourceError(message, { plugin: 'creds', ...options });

/** Waits until `check` holds, polling, or throws what `explain` says after the deadline. */
async function waitFor(check: () => boolean, explain: () => string, timeoutMs = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${explain()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Processes on this machine whose command line contains `marker` (read from /proc). */
function processesWith(marker: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    if (cmdline.includes(marker)) found.push(`${entry}: ${cmdline}`);
  }
  return found;
}

/** The credentials file the wrapper created: the body prints it to stderr first. */
async function secretPath(program: RemoteProgram): Promise<string> {
  let path = '';
  await waitFor(
    () => {
      path = /@@(\S+)@@/.exec(program.stderrTail())?.[1] ?? '';
      return path !== '';
    },
    () => `the remote command printed no credentials file path (stderr: ${program.stderrTail()})`,
  );
  return path;
}

describeWith(['sshd', 'ssh-keygen'], 'SSH credentials file', () => {
  let sshd: SshdServer;

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  const connect = (): Promise<SshSession> =>
    connectSsh({ host: sshd.host, port: sshd.port, username: sshd.user, identityFile: sshd.identityFile, knownHosts: sshd.knownHostsFile }, fail);

  it('hands the body the credentials, keeps its output and exit status, removes the file, and ends without waiting for stdin', async () => {
    const session = await connect();
    try {
      const ok = remoteScript('printf "@@%s@@" "$f" >&2; cat "$f"; printf "out\\n"', SECRET);
      expect(ok.command).not.toContain('s3cr3t');
      const okProgram = await runRemote(session, ok.command, { label: 'dumper', stdin: ok.stdin });
      const chunks: Buffer[] = [];
      okProgram.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      await okProgram.done;
      expect(Buffer.concat(chunks).toString('utf8')).toBe(`${SECRET}out\n`);
      const okPath = await secretPath(okProgram);
      expect(existsSync(okPath)).toBe(false);

      const failing = remoteScript('printf "@@%s@@" "$f" >&2; cat "$f"; echo "dump failed" >&2; exit 3', SECRET);
      const failingProgram = await runRemote(session, failing.command, { label: 'dumper', stdin: failing.stdin });
      const out: Buffer[] = [];
      failingProgram.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      await expect(failingProgram.done).rejects.toMatchObject({ message: expect.stringMatching(/dumper on .* exited 3$/), exitCode: 3 });
      expect(Buffer.concat(out).toString('utf8')).toBe(SECRET);
      expect(failingProgram.stderrTail()).toMatch(/dump failed$/);
      expect(existsSync(await secretPath(failingProgram))).toBe(false);

      // The connection is still usable afterwards, and a short command's output comes back whole.
      const marker = `${randomInt(1e9)}`;
      const echo = remoteScript(`printf '%s' ${marker}`, SECRET);
      expect(await captureRemote(session, echo.command, { label: 'echo', stdin: echo.stdin })).toBe(marker);
    } finally {
      await session.close();
    }
  });

  // `sleep` alone is the background job itself; in a pipeline it is a child of the job's shell.
  for (const [what, silent] of [
    ['a silent dumper', (seconds: string) => `sleep ${seconds}`],
    ['a silent dumper in a pipeline', (seconds: string) => `sleep ${seconds} | cat`],
  ] as const) {
    it(`removes the file and stops ${what} once the connection drops`, async () => {
      const seconds = `39.${randomInt(100_000, 999_999)}`;
      const script = remoteScript(`printf "@@%s@@" "$f" >&2; ${silent(seconds)}`, SECRET);
      const session = await connect();
      const program = await runRemote(session, script.command, { label: 'pg_dump', stdin: script.stdin });
      program.stdout.resume();
      const path = await secretPath(program);
      await waitFor(
        () => processesWith(`sleep ${seconds}`).length > 0,
        () => 'the remote sleep did not start',
      );
      expect(existsSync(path)).toBe(true);

      // As if the runner was killed or the network went: no SSH goodbye, the socket just closes.
      session.client.destroy();
      await expect(program.done).rejects.toThrow(/ended before pg_dump reported its exit status/);

      await waitFor(
        () => !existsSync(path) && processesWith(seconds).length === 0,
        () => `file ${path} ${existsSync(path) ? 'still there' : 'gone'}; processes left: ${processesWith(seconds).join(' | ') || 'none'}`,
      );
    });
  }

  it('removes the file and stops the dumper when the run is aborted', async () => {
    const seconds = `39.${randomInt(100_000, 999_999)}`;
    const script = remoteScript(`printf "@@%s@@" "$f" >&2; sleep ${seconds}`, SECRET);
    const session = await connect();
    try {
      const controller = new AbortController();
      const program = await runRemote(session, script.command, { label: 'pg_dump', stdin: script.stdin, signal: controller.signal });
      program.stdout.resume();
      const path = await secretPath(program);
      await waitFor(
        () => processesWith(`sleep ${seconds}`).length > 0,
        () => 'the remote sleep did not start',
      );
      controller.abort();
      let outcome: unknown;
      program.done.then(
        () => (outcome = 'resolved'),
        (error: unknown) => (outcome = error),
      );
      await waitFor(
        () => outcome !== undefined,
        () => 'the aborted command did not end',
      );
      expect(outcome).toMatchObject({ message: expect.stringMatching(/was stopped: the run was aborted/) });
      await waitFor(
        () => !existsSync(path) && processesWith(seconds).length === 0,
        () => `file ${path} ${existsSync(path) ? 'still there' : 'gone'}; processes left: ${processesWith(seconds).join(' | ') || 'none'}`,
      );
    } finally {
      await session.close();
    }
  });
});
