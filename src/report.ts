/**
 * What a run produced, as data: the pipeline fills it, history stores it, notifiers read it.
 * Nothing in a report may hold a secret; texts pass through the redactor before they land here.
 */

export type RunStatus = 'running' | 'success' | 'warning' | 'failure';

/** A run or source that stored everything it should, warnings included: what notify_on_success and a last success count. */
export function succeeded(status: RunStatus): boolean {
  return status === 'success' || status === 'warning';
}

export interface ArtifactReport {
  /** The source's own name for the dump, e.g. `etc.tar`, `shop.sql`. */
  name: string;
  /** The stored file name with every layer's suffix, e.g. `etc.tar.zst.gpg`. */
  file: string;
  /** Bytes the source produced, when known (not measured when the dumper pipes straight into the compressor). */
  rawBytes?: number;
  /** Bytes stored on each destination (after compression and encryption). */
  storedBytes: number;
  /** sha256 of the stored bytes, hex. */
  sha256: string;
  /** Dump and upload run at once (streaming): seconds from the dump's start to the last byte stored. */
  seconds?: number;
}

export interface RetentionReport {
  kept: string[];
  deleted: string[];
  dryRun: boolean;
  /** Why each run was kept or removed, by run key ("copy 2", "older than 30 days", "incomplete, does not count as a copy"). */
  reasons?: Record<string, string>;
  error?: string;
}

export interface SweptItem {
  /** What it was: `partial upload`, `temporary folder`. */
  kind: string;
  /** The key or path. */
  key: string;
  size?: number;
}

export interface DestinationReport {
  id: string;
  type: string;
  status: 'success' | 'failure' | 'skipped';
  error?: string;
  /** Keys of the objects this run stored, manifest included. */
  keys: string[];
  /** The run's key on this destination (its slot: `20261129010203`, or `20261129000000-2` for a second run in a date-only layout). */
  runKey?: string;
  /** Leftovers of earlier, dead runs that this run removed (partial uploads). */
  swept?: SweptItem[];
  storedBytes: number;
  uploadSeconds: number;
  retention?: RetentionReport;
}

export interface SourceReport {
  id: string;
  name: string;
  type: string;
  status: RunStatus;
  /** The run id on the destinations: the run's start, `YYYYmmddHHMMSS` UTC. */
  runKey: string;
  startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  error?: string;
  warnings: string[];
  artifacts: ArtifactReport[];
  destinations: DestinationReport[];
  compression: string;
  encryption: string;
  /** Temporary folders and credential files of dead runs that this run removed. */
  swept?: SweptItem[];
}

export interface RunReport {
  runId: string;
  jobName: string;
  jobPath: string;
  hostname: string;
  toolVersion: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  dryRun: boolean;
  /** A failure that is not one source's: job file, lock, setup. */
  error?: string;
  sources: SourceReport[];
  /** The last log lines (redacted), for failure notifications. */
  logTail: string[];
}

/**
 * Log lines a run keeps for failure messages: the most any channel may ask for (duplistatus'
 * `log_lines`); each channel sends its own share of them.
 */
export const MAX_LOG_TAIL_LINES = 200;

export function totalStoredBytes(report: Pick<SourceReport, 'artifacts'>): number {
  return report.artifacts.reduce((sum, a) => sum + a.storedBytes, 0);
}
