import { z } from 'zod';
import { MAX_LOG_TAIL_LINES } from '../../report.js';
import { lazySchema } from '../../plugin.js';

export const DuplistatusOptions = lazySchema(() =>
  z.object({
    url: z.url({ protocol: /^https?$/ }).describe('duplistatus server base URL (http://duplistatus:9666); reports go to {url}/api/upload.'),
    machine_id: z
      .string()
      .min(1)
      .optional()
      .describe('Extra["machine-id"]: the machine on the dashboard. Default: derived from the job\'s hostname (stable across runs).'),
    machine_name: z.string().min(1).optional().describe('Extra["machine-name"]: the name shown for the machine. Default: the job\'s hostname.'),
    backup_name: z
      .string()
      .min(1)
      .optional()
      .describe('Extra["backup-name"]: the backup shown on the dashboard; placeholders {job} {source} {hostname}. Default "{job}/{source}".'),
    log_lines: z.coerce.number().int().min(0).max(MAX_LOG_TAIL_LINES).optional().describe('Log lines sent with a failed source (LogLines); default 20.'),
  }),
);
export type DuplistatusOptions = z.output<ReturnType<typeof DuplistatusOptions>>;
