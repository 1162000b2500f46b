/** `backup validate JOB` and `backup schema`. */
import { JobFileError, allSecretKeys } from '../config/load.js';
import { jobJsonSchema } from '../config/json-schema.js';
import { ConfigError, ExitCode, describeError, exitCodeFor } from '../errors.js';
import { redact } from '../secrets.js';
import { loadJob, makeLogger, type GlobalOptions } from './context.js';

export async function commandValidate(path: string, options: GlobalOptions): Promise<number> {
  const { logger } = makeLogger(options);
  try {
    const job = loadJob(path, logger);
    process.stdout.write(
      `${path}: OK (${job.sources.length} source(s): ${job.sources.map((s) => s.options.id).join(', ')}; ` +
        `${job.destinations.length} destination(s): ${job.destinations.map((d) => d.options.id).join(', ')}; ` +
        `${job.notifications.length} notification(s))\n`,
    );
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof JobFileError) {
      for (const p of error.problems) process.stderr.write(`${path}: ${redact(p.path ? `${p.path}: ${p.message}` : p.message)}\n`);
    } else {
      process.stderr.write(`${path}: ${redact(describeError(error))}\n`);
    }
    return exitCodeFor(error);
  }
}

export function commandSchema(): number {
  process.stdout.write(`${JSON.stringify(jobJsonSchema(allSecretKeys()), null, 2)}\n`);
  return ExitCode.ok;
}
