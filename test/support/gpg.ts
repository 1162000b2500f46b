/** The real GnuPG, in a throwaway home, for checking that backups decrypt with it. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GpgHome {
  home: string;
  env: NodeJS.ProcessEnv;
  fingerprint?: string;
  publicKey?: string;
  remove(): Promise<void>;
}

export async function makeGpgHome(withKey: boolean): Promise<GpgHome> {
  const home = await mkdtemp(join(tmpdir(), 'br-gnupg-'));
  const env = { ...process.env, GNUPGHOME: home };
  const result: GpgHome = { home, env, remove: async () => {
    await run('gpgconf', ['--kill', 'all'], { env }).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  } };
  if (withKey) {
    await run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Backup Test <backup@test.invalid>', 'future-default', 'default', 'never'], { env });
    const { stdout } = await run('gpg', ['--batch', '--with-colons', '--list-keys'], { env });
    result.fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(stdout)?.[1];
    result.publicKey = (await run('gpg', ['--batch', '--export', '--armor', result.fingerprint!], { env })).stdout;
  }
  return result;
}

/** `gpg -d` of a file with a passphrase or the home's key; returns the plaintext. */
export async function gpgDecrypt(file: string, home: GpgHome, passphrase?: string): Promise<Buffer> {
  const args = ['--batch', '--quiet', '--pinentry-mode', 'loopback'];
  if (passphrase !== undefined) args.push('--passphrase', passphrase);
  args.push('--decrypt', file);
  const running = run('gpg', args, { env: home.env, encoding: 'buffer', maxBuffer: 1 << 30 });
  // No input: a damaged message that starts like a detached signature makes gpg read the signed data from stdin.
  running.child.stdin?.end();
  const { stdout } = await running;
  return stdout;
}

export async function gpgSymmetric(input: string, output: string, home: GpgHome, passphrase: string): Promise<void> {
  // gpg's defaults, as the original tool called it (its default compression included), but
  // for the count of the iterated and salted S2K: gpg tunes it to ~100 ms of its own C, which
  // is seconds of JavaScript per restore; the reader takes the count from the file either way.
  await run('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', passphrase, '--s2k-count', '65536', '--symmetric', '--output', output, input], { env: home.env });
}
