/**
 * `minio`: a MinIO server or another S3-compatible service (DigitalOcean Spaces...) through the
 * MinIO JavaScript SDK, as the original tool did with the MinIO Python SDK.
 */
import { defineDestination } from '../types.js';
import { parseEndpoint } from './endpoint.js';
import { MinioOptions } from './schema.js';

export const minioDestination = defineDestination({
  type: 'minio',
  description: 'A MinIO bucket or another S3-compatible service (DigitalOcean Spaces...) through the MinIO SDK.',
  get options() {
    return MinioOptions();
  },
  problems(options) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(options.endpoint)) {
      return [{ key: 'endpoint', message: 'give host or host:port without http:// or https:// (TLS is chosen by "secure")' }];
    }
    if (!parseEndpoint(options.endpoint)) return [{ key: 'endpoint', message: 'expected host or host:port, e.g. minio.lan:9000' }];
    return [];
  },
  create: async (options) => (await import('./create.js')).create(options),
});
