/** Writing job files for end-to-end tests. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function writeJob(dir: string, job: Record<string, unknown>, name = 'job.json'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify({ hostname: 'testhost', tmpdir: join(dir, 'tmp'), state_dir: join(dir, 'state'), ...job }, null, 2));
  return path;
}
