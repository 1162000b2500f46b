/**
 * Job-file keys every AWS source shares (rds, rds-pgsql, snapshot): where to talk to AWS and
 * as whom. The original tool took `credentials: {aws_access_key_id, aws_secret_access_key}`,
 * else the standard credential chain.
 */
import { z } from 'zod';
import { AwsCredentials } from '../../config/aws-credentials.js';
import { text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

export const AwsConnectionShape = lazySchema(() => ({
  region: text('AWS region (e.g. eu-west-1). Default: AWS_REGION, AWS_DEFAULT_REGION or the profile in ~/.aws/config.').optional(),
  credentials: AwsCredentials().optional(),
  endpoint_url: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Service endpoint instead of the regional AWS one (a VPC interface endpoint, or a local fake in tests).'),
}));

/** Seconds, given as a number or a numeric string. */
export function seconds(description: string, min = 1) {
  return z.coerce.number().int().min(min).describe(description);
}
