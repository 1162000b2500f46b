/**
 * What the AWS SDK v3 clients of the sources share: their configuration from the job-file
 * keys, and errors turned into one line the operator can act on. SDK errors carry the signed
 * request, so they never travel on as `cause` (safeCause copies the first line only).
 */
import { networkCode, safeCause } from '../../lib/sdk-errors.js';
import { SourceError } from '../../errors.js';
import type { AwsCredentials } from '../../config/aws-credentials.js';

export interface AwsConnection {
  region?: string;
  credentials?: AwsCredentials;
  endpoint_url?: string;
}

export interface AwsClientConfig {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts: number;
  requestHandler: { connectionTimeout: number; requestTimeout: number };
}

/** The region the job names, else AWS_REGION / AWS_DEFAULT_REGION; undefined lets the SDK read ~/.aws/config. */
export function awsRegion(conn: AwsConnection, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return conn.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
}

export function awsClientConfig(conn: AwsConnection): AwsClientConfig {
  // The SDK warns on every start that releases after January 2027 need Node 22; the pinned
  // version supports Node 20, and the warning would reach cron mail nightly.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return {
    region: awsRegion(conn),
    endpoint: conn.endpoint_url,
    credentials: conn.credentials
      ? {
          accessKeyId: conn.credentials.aws_access_key_id,
          secretAccessKey: conn.credentials.aws_secret_access_key,
          sessionToken: conn.credentials.aws_session_token,
        }
      : undefined,
    maxAttempts: 5,
    requestHandler: { connectionTimeout: 15_000, requestTimeout: 120_000 },
  };
}

export interface AwsErrorFacts {
  /** The service's error code (DBInstanceNotFound, InvalidVolume.NotFound...) or the SDK's error name. */
  code?: string;
  status?: number;
  network?: string;
  message: string;
}

interface SdkErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export function awsErrorFacts(error: unknown): AwsErrorFacts {
  const e = (error ?? {}) as SdkErrorShape;
  const message = (e.message ?? String(error)).split('\n')[0]!.slice(0, 500);
  return { code: e.Code ?? e.name, status: e.$metadata?.httpStatusCode, network: networkCode(error), message };
}

/** True when the error's code is one of `codes` (with or without the SDK's "Fault"/"Exception" suffix). */
export function hasAwsCode(error: unknown, ...codes: string[]): boolean {
  const { code } = awsErrorFacts(error);
  if (!code) return false;
  const bare = code.replace(/(Fault|Exception)$/, '');
  return codes.some((c) => c === code || c === bare || c.replace(/(Fault|Exception)$/, '') === bare);
}

/** Throttling, server errors and network failures: worth another try later. */
export function isTransientAwsError(error: unknown): boolean {
  const { code, status, network } = awsErrorFacts(error);
  if (network) return true;
  if (status !== undefined && status >= 500) return true;
  return /Throttl|RequestLimitExceeded|TooManyRequests|RequestTimeout|TimeoutError/.test(code ?? '');
}

const CREDENTIAL_CODES = ['InvalidClientTokenId', 'SignatureDoesNotMatch', 'AuthFailure', 'UnrecognizedClientException', 'ExpiredToken', 'InvalidAccessKeyId'];
const PERMISSION_CODES = ['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'UnauthorizedAccess'];

/** "<doing> failed: <what the operator should know>", credentials named the way the job file names them. */
export function describeAwsError(doing: string, error: unknown, conn: AwsConnection, service: string): string {
  const facts = awsErrorFacts(error);
  const where = conn.endpoint_url ?? `${service} in ${awsRegion(conn) ?? 'the default region'}`;
  const keys = conn.credentials ? 'credentials.aws_access_key_id / aws_secret_access_key' : 'the credentials of the AWS credential chain';
  if (facts.code === 'CredentialsProviderError') {
    return `${doing} failed: no AWS credentials found: set "credentials" in the job file or configure the standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or task role)`;
  }
  if (/Region is missing/i.test(facts.message)) {
    return `${doing} failed: no AWS region: set "region" in the job file (or AWS_REGION)`;
  }
  if (facts.network) return `${doing} failed: cannot reach ${where} (${facts.network})`;
  if (facts.code && CREDENTIAL_CODES.includes(facts.code)) {
    return `${doing} failed: AWS rejected the credentials (${facts.code}): check ${keys}`;
  }
  if (facts.code && PERMISSION_CODES.includes(facts.code)) {
    return `${doing} failed: permission denied (${facts.code}: ${facts.message}): grant the IAM permissions listed in the source's README`;
  }
  const status = facts.status ? ` (HTTP ${facts.status})` : '';
  return `${doing} failed: ${facts.code ?? 'error'}${status}: ${facts.message}`;
}

export function awsSourceError(plugin: string, doing: string, error: unknown, conn: AwsConnection, service: string): SourceError {
  if (error instanceof SourceError) return error;
  return new SourceError(describeAwsError(doing, error, conn, service), { plugin, cause: safeCause(error) });
}
