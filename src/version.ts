/** The tool's name and version, as recorded in manifests and reports. */
import { readFileSync } from 'node:fs';

export const TOOL_NAME = 'backup-runner';

/**
 * The version in our package.json: the nearest one above this file that names the tool (this
 * code runs from src/, dist/ or the bundle in dist/bundle/, at different depths).
 */
function readVersion(): string {
  for (let dir = new URL('./', import.meta.url); ; ) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === TOOL_NAME) return pkg.version ?? '0.0.0';
    } catch {
      // no package.json here
    }
    const parent = new URL('../', dir);
    if (parent.href === dir.href) return '0.0.0';
    dir = parent;
  }
}

export const TOOL_VERSION = readVersion();
