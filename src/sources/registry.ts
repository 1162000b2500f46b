/** Every source plugin, listed explicitly. A test checks this list against src/sources/<type>/ folders. */
import type { SourcePlugin } from './types.js';
import { folderSource } from './folder/index.js';
import { mysqlSource } from './mysql/index.js';
import { pgsqlSource } from './pgsql/index.js';
import { vzdumpSource } from './vzdump/index.js';
import { folderSshSource } from './folder-ssh/index.js';
import { lvmSshSource } from './lvm-ssh/index.js';
import { mysqlSshSource } from './mysql-ssh/index.js';
import { pgsqlSshSource } from './pgsql-ssh/index.js';
import { rdsSource } from './rds/index.js';
import { rdsPgsqlSource } from './rds-pgsql/index.js';
import { snapshotSource } from './snapshot/index.js';
import { azureManagedDiskSource } from './azure-managed-disk/index.js';

export const sourcePlugins: readonly SourcePlugin[] = [
  folderSource,
  mysqlSource,
  pgsqlSource,
  vzdumpSource,
  folderSshSource,
  lvmSshSource,
  mysqlSshSource,
  pgsqlSshSource,
  rdsSource,
  rdsPgsqlSource,
  snapshotSource,
  azureManagedDiskSource,
];
