/**
 * Job-file keys every AWS source shares (rds, rds-pgsql, snapshot): where to talk to AWS and
 * as whom. The original tool took `credentials: {aws_access_key_id, aws_secret_access_key}`,
 * else the standard credential chain.
 */
import { z } from 'zod';
import { secret, text } from '../../config/fields.js';

export const AwsCredentials = z
  .object({
    aws_access_key_id: text('AWS access key id.'),
    aws_secret_access_key: secret('AWS secret access key'),
    aws_session_token: secret('Session token of temporary credentials (optional)').optional(),
  })
  .strict()
  .describe('Static credentials. Omit to use the standard AWS credential chain (environment, ~/.aws, SSO, instance or task role).');
export type AwsCredentials = z.output<typeof AwsCredentials>;

export const AwsConnectionShape = {
  region: text('AWS region (e.g. eu-west-1). Default: AWS_REGION, AWS_DEFAULT_REGION or the profile in ~/.aws/config.').optional(),
  credentials: AwsCredentials.optional(),
  endpoint_url: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Service endpoint instead of the regional AWS one (a VPC interface endpoint, or a local fake in tests).'),
};

/** Seconds, given as a number or a numeric string. */
export function seconds(description: string, min = 1) {
  return z.coerce.number().int().min(min).describe(description);
}
