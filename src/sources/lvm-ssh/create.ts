/**
 * The lvm-ssh source's instance: the snapshot, the dd stream and the pruning of this volume's
 * backup snapshots over one SSH connection. Loaded only when a job uses the source (index.ts
 * declares it).
 */
import { SourceError } from '../../errors.js';
import type { CreateContext } from '../../plugin.js';
import { LazySshSession, type ErrorFactory, type SshSession } from '../../lib/ssh/connection.js';
import { shellCommand } from '../../lib/shell-words.js';
import { captureRemote, runRemote, withSudo, type RemoteProgram } from '../ssh/remote-command.js';
import { sshTargetFromOptions } from '../ssh/target.js';
import type { Artifact, Source, SourceOptions } from '../types.js';
import type { LvmSshOptions } from './schema.js';

/** `YYYYmmddHHMMSS` in UTC, as the run keys are. */
export function snapshotStamp(time: Date): string {
  return time.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function snapshotName(lvName: string, time: Date): string {
  return `${lvName}-backup-${snapshotStamp(time)}`;
}

/** An error's own text for a combined message: its message and the last stderr line, without the plugin prefix. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const tail = (error as SourceError).stderrTail?.trim().split('\n').pop();
  return tail ? `${error.message}: ${tail}` : error.message;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Only names this source creates count as its snapshots: never another volume or a manual snapshot. */
export function isBackupSnapshotOf(lvName: string, name: string): boolean {
  return new RegExp(`^${escapeRegExp(lvName)}-backup-\\d{14}$`).test(name);
}

/** The snapshots to remove after a run (oldest first). */
export function snapshotsToRemove(
  lvName: string,
  existing: readonly string[],
  created: string | undefined,
  dumpSucceeded: boolean,
  retain: number,
): string[] {
  if (!dumpSucceeded) return created && existing.includes(created) ? [created] : [];
  const ours = existing.filter((n) => isBackupSnapshotOf(lvName, n)).sort();
  const keep = new Set(retain > 0 ? ours.slice(-retain) : []);
  return ours.filter((n) => !keep.has(n));
}

export function create(options: SourceOptions<ReturnType<typeof LvmSshOptions>>, { job, logger }: CreateContext): Source {
  const fail: ErrorFactory = (message, errorOptions) => new SourceError(message, { plugin: options.id, ...errorOptions });
  const ssh = new LazySshSession(sshTargetFromOptions(options, job), fail);
  const vg = options.vg_name;
  const lv = options.lv_name;
  const sudo = options.sudo;
  const retain = options.retain_snapshots;
  const sizeArgs = options.size.includes('%') ? ['-l', options.size] : ['-L', options.size];

  // State of the current run, read by cleanup().
  let created: string | undefined;
  let dump: RemoteProgram | undefined;
  let dumpSettled: Promise<boolean> | undefined;

  const listVolumes = async (session: SshSession): Promise<string[]> => {
    const argv = withSudo([options.lvs_command ?? 'lvs', '--noheadings', '-o', 'lv_name', vg], sudo);
    const out = await captureRemote(session, shellCommand(argv), { label: 'lvs' });
    return out
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
  };

  const removeVolume = (session: SshSession, name: string) =>
    captureRemote(session, shellCommand(withSudo([options.lvremove_command ?? 'lvremove', '-f', `${vg}/${name}`], sudo)), { label: 'lvremove' });

  return {
    async check() {
      try {
        const session = await ssh.get();
        const volumes = await listVolumes(session);
        if (!volumes.includes(lv)) throw fail(`logical volume ${vg}/${lv} not found on ${session.where} (lvs lists: ${volumes.join(', ') || 'nothing'})`);
      } finally {
        await ssh.close();
      }
    },

    async *open(ctx): AsyncIterable<Artifact> {
      created = undefined;
      dump = undefined;
      dumpSettled = undefined;
      const session = await ssh.get();
      const name = snapshotName(lv, new Date());
      // Recorded before lvcreate runs: if it fails half-way (created, then could not activate),
      // cleanup finds the snapshot and removes it.
      created = name;
      const lvcreate = withSudo([options.lvcreate_command ?? 'lvcreate', '-s', ...sizeArgs, '-n', name, `${vg}/${lv}`], sudo);
      await captureRemote(session, shellCommand(lvcreate), { label: 'lvcreate', signal: ctx.signal });
      logger.info({ source: options.id, snapshot: `${vg}/${name}` }, 'LVM snapshot created');

      const dd = withSudo([options.dd_command ?? 'dd', `if=/dev/${vg}/${name}`, 'bs=4M'], sudo);
      const program = await runRemote(session, shellCommand(dd), { label: 'dd', signal: ctx.signal });
      dump = program;
      dumpSettled = program.done.then(
        () => true,
        () => false,
      );
      yield { name: `${options.id}.img`, stream: program.stdout, done: program.done, warnings: program.warnings };
    },

    async cleanup() {
      try {
        if (created === undefined) return;
        // A dump still running here was abandoned (the upload failed): stop it first, the
        // snapshot cannot be removed while dd holds it open.
        let succeeded = false;
        if (dump && dumpSettled) {
          const settled = await Promise.race([dumpSettled, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
          if (settled === undefined) {
            dump.abort();
            await Promise.race([dumpSettled, new Promise((r) => setTimeout(r, 15_000))]);
          }
          succeeded = settled === true;
        }
        const snapshot = created;
        let session: SshSession;
        let existing: string[];
        try {
          session = await ssh.get();
          existing = await listVolumes(session);
        } catch (error) {
          const what = succeeded ? 'old snapshots were not pruned' : `the snapshot ${vg}/${snapshot} of this failed run may be left behind: remove it by hand (lvremove -f ${vg}/${snapshot})`;
          throw fail(`cannot list the LVM volumes after the dump, ${what}: ${reasonOf(error)}`, { cause: error });
        }
        const remove = snapshotsToRemove(lv, existing, snapshot, succeeded, retain);
        const failures: string[] = [];
        for (const name of remove) {
          try {
            await removeVolume(session, name);
            logger.info({ source: options.id, snapshot: `${vg}/${name}` }, 'LVM snapshot removed');
          } catch (error) {
            failures.push(`${vg}/${name}: ${reasonOf(error)}`);
          }
        }
        if (failures.length > 0) {
          throw fail(`could not remove LVM snapshot(s) on ${session.where}; remove them by hand (lvremove) before they fill up: ${failures.join('; ')}`);
        }
      } finally {
        created = undefined;
        dump = undefined;
        dumpSettled = undefined;
        await ssh.close();
      }
    },
  };
}
