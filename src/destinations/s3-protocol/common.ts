import { serverSaid } from '../../lib/sdk-errors.js';

/**
 * What the S3-protocol destinations (s3, minio) share besides the multipart uploader: the key
 * prefix and operator-facing explanations of S3 errors. SDK errors themselves never travel on
 * as `cause` (see src/lib/sdk-errors.ts): only their code, status and first message line do.
 */

/** `prefix` as stored: no leading slash, one trailing slash, or '' for the bucket's root. */
export function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed ? `${trimmed}/` : '';
}

export interface S3ErrorFacts {
  /** S3 error code (NoSuchBucket, AccessDenied...) or the SDK's error name. */
  code?: string;
  status?: number;
  /** ECONNREFUSED, ENOTFOUND... when the request never got an answer. */
  network?: string;
  message: string;
}

export interface S3Place {
  bucket: string;
  /** The endpoint as the operator wrote it, or the AWS default. */
  endpoint: string;
  region?: string;
  /** Job-file keys holding the access key and the secret, for "check ..." hints. */
  accessKeyField: string;
  secretKeyField: string;
}

/** One sentence telling the operator what went wrong and what to check. Never holds a secret. */
export function explainS3Error(raw: S3ErrorFacts, place: S3Place): string {
  // The SDK's message may quote the server's answer, which may echo the request.
  const facts = { ...raw, message: serverSaid(raw.message) };
  const { code, status } = facts;
  if (/wrong version number|EPROTO|ERR_SSL_/i.test(`${code ?? ''} ${facts.message}`)) {
    return `the TLS handshake with ${place.endpoint} failed (${facts.message}): the server may speak plain HTTP on this port (minio: "secure": false; s3: an http:// endpoint_url)`;
  }
  if (facts.network) {
    return `cannot reach ${place.endpoint} (${facts.network}): check the endpoint address and port, DNS, the network and firewalls`;
  }
  switch (code) {
    case 'InvalidAccessKeyId':
      return `the access key is not known to the server (InvalidAccessKeyId, HTTP 403): check ${place.accessKeyField}`;
    case 'SignatureDoesNotMatch':
      return `the secret key does not match the access key (SignatureDoesNotMatch, HTTP 403): check ${place.secretKeyField}`;
    case 'InvalidToken':
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
      return `the session token is invalid or expired (${code}): refresh the temporary credentials`;
    case 'NoSuchBucket':
      return `bucket "${place.bucket}" does not exist at ${place.endpoint}: create it or fix "bucket"`;
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
      return `bucket "${place.bucket}" is in another region than "${place.region ?? 'us-east-1'}" (${code}): set "region" to the bucket's region`;
    case 'AccessDenied':
    case 'AllAccessDisabled':
      return `access denied on bucket "${place.bucket}" (${code}, HTTP 403): the credentials lack a permission the README's policy lists, or a bucket policy refuses them`;
    default:
      break;
  }
  if (status === 403) {
    return `access denied on bucket "${place.bucket}" (HTTP 403${code && code !== 'Forbidden' ? ` ${code}` : ''}): check ${place.accessKeyField} and ${place.secretKeyField}, and that they may use this bucket`;
  }
  if (status === 404) return `bucket "${place.bucket}" does not exist at ${place.endpoint} (HTTP 404): create it or fix "bucket"`;
  if (status === 301) return `bucket "${place.bucket}" is in another region (HTTP 301): set "region" to the bucket's region`;
  const what = [code, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ');
  return `${facts.message}${what ? ` (${what})` : ''}`;
}
