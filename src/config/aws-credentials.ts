/**
 * The static AWS credentials block of a job file, in the original tool's shape
 * (`credentials: {aws_access_key_id, aws_secret_access_key}`): one schema for the AWS sources
 * (rds, rds-pgsql, snapshot) and the s3 destination.
 */
import { z } from 'zod';
import { lazySchema } from '../plugin.js';
import { secret, text } from './fields.js';

export const AwsCredentials = lazySchema(() =>
  z
    .object({
      aws_access_key_id: text('AWS access key id.'),
      aws_secret_access_key: secret('AWS secret access key'),
      aws_session_token: secret('Session token of temporary credentials (optional)').optional(),
    })
    .strict()
    .describe('Static credentials. Omit to use the standard AWS credential chain (environment, ~/.aws, SSO, instance or task role).'),
);
export type AwsCredentials = z.output<ReturnType<typeof AwsCredentials>>;
