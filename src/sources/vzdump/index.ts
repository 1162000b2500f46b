/**
 * `vzdump`: Proxmox VE guest backups, stored by the hook mode (`backup vzdump-hook`), which
 * vzdump calls for every guest. The source only declares the encryption (passphrase or
 * recipients) and the optional `vmids` filter; a normal `backup run` has nothing to dump for it.
 * Each guest is stored under its own id, `vzdump-{VMID}`: the core asks `storedIds` which ids
 * are this source's (list, verify, restore, status).
 */
import { defineSource } from '../types.js';
import { VZDUMP_SOURCE_TYPE, VzdumpOptions, guestSourceId, guestVmid, takesGuest } from './schema.js';

export const vzdumpSource = defineSource({
  type: VZDUMP_SOURCE_TYPE,
  description: 'Proxmox VE vzdump archives, encrypted and stored by the vzdump hook mode (backup vzdump-hook).',
  get options() {
    return VzdumpOptions();
  },
  storedByHook: 'stored by "backup vzdump-hook" when vzdump runs (see src/vzdump/README.md); a normal run has nothing to dump for it',
  storedIds: {
    listed: (options) => (options.vmids ?? []).map((vmid) => guestSourceId(vmid)),
    owns(options, id) {
      const vmid = guestVmid(id);
      return vmid !== undefined && takesGuest(options, vmid);
    },
    compare: (a, b) => (guestVmid(a) ?? 0) - (guestVmid(b) ?? 0) || a.localeCompare(b),
  },
  create: async (options) => (await import('./create.js')).create(options),
});
