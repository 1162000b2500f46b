/**
 * `azure-managed-disk`: a snapshot of an Azure managed disk (Snapshots - Create Or Update with
 * createOption "Copy") in another resource group, tagged as ours, and pruned to
 * `retain_snapshots` among the snapshots of that disk that this source made. The stored
 * artifact is a small JSON record of the snapshot: the data itself stays in Azure.
 */
import { defineSource } from '../types.js';
import { AzureManagedDiskOptions } from './schema.js';

export const azureManagedDiskSource = defineSource({
  type: 'azure-managed-disk',
  description: 'A snapshot of an Azure managed disk in another resource group, pruned to retain_snapshots; stores a JSON record of it.',
  get options() {
    return AzureManagedDiskOptions();
  },
  problems(o) {
    const problems: { key: string; message: string }[] = [];
    const given = (['tenant_id', 'client_id', 'client_secret'] as const).filter((k) => o[k] !== undefined);
    if (given.length > 0 && given.length < 3) problems.push({ key: given.includes('tenant_id') ? (given.includes('client_id') ? 'client_secret' : 'client_id') : 'tenant_id', message: 'give tenant_id, client_id and client_secret together (or none, to use TENANT_ID/CLIENT_ID/CLIENT_KEY or the Azure credential chain)' });
    return problems;
  },
  create: async (options) => (await import('./create.js')).create(options),
});
