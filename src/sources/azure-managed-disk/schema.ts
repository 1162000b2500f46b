import { z } from 'zod';
import { count, flag, secret, text } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';

const httpsUrl = (description: string) => z.url({ protocol: /^https$/ }).optional().describe(description);

export const AzureManagedDiskOptions = lazySchema(() =>
  z.object({
    subscription_id: text('Azure subscription id holding the disk and the snapshots.'),
    source_resource_group: text('Resource group the managed disk is in.'),
    destination_resource_group: text('Resource group the snapshots are created in (and pruned from).'),
    disk_name: text('Name of the managed disk in source_resource_group.'),
    retain_snapshots: count(
      'Keep this many newest snapshots of this disk made by this source (tag backup-runner:source) in destination_resource_group and delete older ones of ours; snapshots this source did not make are never touched. Default: delete nothing.',
      1,
    ).optional(),
    tenant_id: text('Directory (tenant) id of the service principal. Default: the TENANT_ID environment variable, as the original.').optional(),
    client_id: text('Application (client) id of the service principal. Default: CLIENT_ID, as the original.').optional(),
    client_secret: secret('Client secret of the service principal. Default: CLIENT_KEY, as the original').optional(),
    incremental: flag('Make incremental snapshots (billed for changed blocks only; default: full snapshots, as the original).').optional(),
    timeout: count('Give up waiting for the snapshot after this many seconds (default 3600; Azure goes on making it).', 1).default(3600),
    endpoint: httpsUrl('Azure Resource Manager endpoint (default https://management.azure.com; e.g. https://management.chinacloudapi.cn, https://management.usgovcloudapi.net).'),
    authority_host: httpsUrl('Microsoft Entra authority (default https://login.microsoftonline.com; e.g. https://login.chinacloudapi.cn). Instance discovery is skipped when set.'),
    ca_file: text('PEM file of extra CA certificates to trust for endpoint and authority_host (Azure Stack Hub, a TLS-inspecting proxy).').optional(),
  }),
);
export type AzureManagedDiskOptions = z.output<ReturnType<typeof AzureManagedDiskOptions>>;
