/**
 * `lvm-ssh`: a consistent image of an LVM logical volume on another host. Over one SSH
 * connection: `lvcreate -s` a snapshot named `<lv>-backup-<YYYYmmddHHMMSS>`, stream it with
 * `dd if=/dev/<vg>/<snapshot> bs=4M`, then keep `retain_snapshots` of this volume's backup
 * snapshots. Snapshots are pruned only after a complete dump; a failed or aborted dump
 * removes the snapshot it created, so a failure never leaves an extra snapshot filling up.
 */
import { SSH_SECRET_KEYS } from '../ssh/schema.js';
import { defineSource } from '../types.js';
import { LvmSshOptions } from './schema.js';

export const lvmSshSource = defineSource({
  type: 'lvm-ssh',
  description: 'An LVM logical volume on another host: snapshot, raw image streamed with dd over SSH.',
  get options() {
    return LvmSshOptions();
  },
  secrets: SSH_SECRET_KEYS,
  create: async (options, ctx) => (await import('./create.js')).create(options, ctx),
});
