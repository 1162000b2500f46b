/**
 * A vzdump archive or log file as an artifact of the `vzdump-{VMID}` source. Archives are
 * usually compressed by vzdump already (`.vma.zst`, `.tar.zst`, `.vma.lzo`, `.tgz`...): those
 * are encrypted as they are, never compressed twice.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { finished } from 'node:stream/promises';
import { SourceError } from '../errors.js';
import type { Artifact, Source } from '../sources/types.js';

const COMPRESSED = /\.(zst|gz|tgz|lzo|bz2|xz|lz4)$/;

/** `vzdump-qemu-101-2024_05_01-02_00_00.vma.zst` → `.vma.zst`. */
export function archiveExtension(target: string): string {
  const name = basename(target);
  const named = /^vzdump-[a-z]+-\d+-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}(\..+)$/.exec(name);
  if (named) return named[1]!;
  const known = /(\.(?:vma|tar)(?:\.[a-z0-9]+)?|\.tgz)$/.exec(name);
  if (known) return known[1]!;
  const dot = name.indexOf('.', 1);
  return dot > 0 ? name.slice(dot) : '';
}

export function isCompressedArchive(extension: string): boolean {
  return COMPRESSED.test(extension);
}

/** A file read as one artifact; `done` rejects when reading fails or stops early. */
export async function fileArtifact(sourceId: string, name: string, path: string, precompressed: boolean): Promise<Artifact> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new SourceError(`cannot read ${path} (${error.code ?? error.message})`, { plugin: sourceId });
  });
  if (!info.isFile()) throw new SourceError(`${path} is not a file`, { plugin: sourceId });
  const stream = createReadStream(path);
  const done = finished(stream).catch((error: unknown) => {
    throw new SourceError(`reading ${path} failed: ${(error as Error).message}`, { plugin: sourceId, cause: error });
  });
  done.catch(() => undefined);
  return { name, stream, done, precompressed, rawBytes: () => info.size };
}

export interface GuestFiles {
  /** vzdump's archive ($TARGET): stored as it is (encrypted; compressed only when vzdump did not). */
  target: string;
  /** vzdump's task log of the guest ($LOGFILE at log-end), when there is one. */
  logfile?: string;
  /** The notes vzdump wrote beside the archive (`{archive}.notes`), when there are any. */
  notes?: string;
}

/**
 * One guest's run: its archive, log and notes as the artifacts of one source, so the pipeline
 * stores them in one run folder with one manifest. Each keeps the name vzdump gave it
 * (`original_name` in the manifest): `restore` gives back
 * `vzdump-qemu-101-2026_11_29-01_00_00.vma.zst`, its `.log` and its `.notes` as vzdump wrote
 * them, ready for `qmrestore` / `pct restore` or a Proxmox dump directory.
 */
export function guestSource(sourceId: string, files: GuestFiles): Source {
  const extension = archiveExtension(files.target);
  return {
    async *open(): AsyncIterable<Artifact> {
      yield { ...(await fileArtifact(sourceId, `${sourceId}${extension}`, files.target, isCompressedArchive(extension))), originalName: basename(files.target) };
      if (files.logfile) yield { ...(await fileArtifact(sourceId, `${sourceId}.log`, files.logfile, false)), originalName: basename(files.logfile) };
      if (files.notes) yield { ...(await fileArtifact(sourceId, `${sourceId}.notes`, files.notes, false)), originalName: basename(files.notes) };
    },
  };
}
