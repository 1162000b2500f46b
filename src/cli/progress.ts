/**
 * The live line on a terminal: one line per artifact, rewritten in place at most 4 times a
 * second, finished with a newline when the artifact is done. Nothing is drawn without a TTY
 * (cron, systemd, CI), so logs there stay plain lines.
 */
import { formatBytes, formatDuration } from '../lib/format.js';
import type { ArtifactProgress } from '../pipeline/store-artifact.js';

/** `db.sql.zst.gpg  12.3 MiB stored  4.1 MiB/s  3s` */
export function progressLine(p: ArtifactProgress): string {
  const rate = p.seconds > 0 ? `${formatBytes(p.storedBytes / p.seconds)}/s` : '';
  return `${p.file}  ${formatBytes(p.storedBytes)} stored  ${rate}  ${formatDuration(p.seconds)}`;
}

export function terminalProgress(out: NodeJS.WriteStream): ((p: ArtifactProgress) => void) | undefined {
  if (!out.isTTY) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (!p.done && now - last < 250) return;
    last = now;
    out.write(`\r\x1b[2K${progressLine(p)}${p.done ? '\n' : ''}`);
  };
}
