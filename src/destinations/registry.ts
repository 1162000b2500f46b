/** Every destination plugin, listed explicitly. A test checks this list against src/destinations/<type>/ folders. */
import type { DestinationPlugin } from './types.js';
import { localDestination } from './local/index.js';
import { gsDestination } from './gs/index.js';
import { b2Destination } from './b2/index.js';
import { dropboxDestination } from './dropbox/index.js';
import { gdriveDestination } from './gdrive/index.js';
import { sftpDestination } from './sftp/index.js';
import { s3Destination } from './s3/index.js';
import { minioDestination } from './minio/index.js';
import { sambaDestination } from './samba/index.js';

export const destinationPlugins: readonly DestinationPlugin[] = [
  localDestination,
  gsDestination,
  b2Destination,
  dropboxDestination,
  gdriveDestination,
  sftpDestination,
  s3Destination,
  minioDestination,
  sambaDestination,
];
