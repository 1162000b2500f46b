/** `backup validate JOB` and `backup schema`. */
import { allSecretKeys, loadJobFile } from '../config/load.js';
import { jobJsonSchema } from '../config/json-schema.js';
import { ConfigError, ExitCode, describeError, exitCodeFor } from '../errors.js';
import { redact } from '../secrets.js';
import type { GlobalOptions } from './context.js';

export interface ValidateOptions extends GlobalOptions {
  strict?: boolean;
}

/** One line per problem and per warning, each naming the file and the JSON path. */
export async function commandValidate(path: string, options: ValidateOptions): Promise<number> {
  try {
    const job = loadJobFile(path, { strict: options.strict });
    for (const warning of job.warnings) process.stderr.write(`${path}: warning: ${redact(warning)}\n`);
    process.stdout.write(
      `${path}: OK (${job.sources.length} source(s): ${job.sources.map((s) => s.options.id).join(', ')}; ` +
        `${job.destinations.length} destination(s): ${job.destinations.map((d) => d.options.id).join(', ')}; ` +
        `${job.notifications.length} notification(s))\n`,
    );
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof ConfigError) {
      // Problems without a path (syntax errors, an unreadable file) already name the file.
      for (const p of error.problems) process.stderr.write(`${redact(p.path ? `${path}: ${p.path}: ${p.message}` : p.message)}\n`);
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
