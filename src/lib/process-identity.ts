/**
 * Who a process is, in a way that survives PID reuse: the pid plus the kernel's boot id and
 * the process start time (clock ticks since boot, /proc/PID/stat field 22). A lock file, a
 * run's claim on a destination or a temporary folder that records this identity is "live"
 * only while that very process runs, not merely while some process holds the same pid.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  pid: number;
  /** /proc/sys/kernel/random/boot_id: a pid from before a reboot never matches. */
  boot?: string;
  /** Start time of the process in clock ticks since boot. */
  start?: number;
  hostname: string;
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

let own: ProcessIdentity | undefined;

export function currentProcessIdentity(): ProcessIdentity {
  own ??= { pid: process.pid, boot: readBootId(), start: processStartTicks(process.pid), hostname: hostname() };
  return own;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process that recorded `identity` still runs. Only answerable on the same host:
 * for another host's identity this returns `undefined` (unknown), and callers must treat the
 * owner as possibly alive.
 */
export function isProcessAlive(identity: Partial<ProcessIdentity> & { pid: number }): boolean | undefined {
  const me = currentProcessIdentity();
  if (identity.hostname !== undefined && identity.hostname !== me.hostname) return undefined;
  if (identity.boot !== undefined && me.boot !== undefined && identity.boot !== me.boot) return false;
  if (!pidExists(identity.pid)) return false;
  if (identity.start !== undefined) {
    const start = processStartTicks(identity.pid);
    if (start !== undefined && start !== identity.start) return false;
  }
  return true;
}
