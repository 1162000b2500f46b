import { z } from 'zod';
import { count, flag } from '../../config/fields.js';
import { lazySchema } from '../../plugin.js';
import { SshConnectionShape } from '../ssh/schema.js';

// LVM's own rule for VG and LV names: letters, digits and + _ . -, not starting with "-".
const lvmName = (description: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$/, 'use letters, digits and + _ . - (LVM naming rules), not starting with "-"')
    .max(100)
    .describe(description);

const command = (name: string) =>
  z
    .string()
    .min(1)
    .optional()
    .describe(`The ${name} program on sshhost (default "${name}"); a path, or a wrapper allowed by sudoers.`);

export const LvmSshOptions = lazySchema(() =>
  z.object({
    ...SshConnectionShape(),
    vg_name: lvmName('Volume group of the logical volume.'),
    lv_name: lvmName('Logical volume to snapshot and back up.'),
    size: z
      .string()
      .regex(/^(\d+(\.\d+)?[bBsSkKmMgGtTpPeE]?|\d+%(VG|FREE|ORIGIN|PVS))$/, 'expected an LVM size such as 5G, 512M or 20%ORIGIN')
      .describe(
        'Copy-on-write space for the snapshot (lvcreate -L, e.g. "5G"; or -l with a percentage such as "20%ORIGIN"). Must hold every block changed on the volume while the backup streams.',
      ),
    retain_snapshots: count(
      'How many snapshots of this volume to keep on the host after a successful backup (named <lv_name>-backup-YYYYmmddHHMMSS). 0 removes this run\'s snapshot too.',
    ).default(0),
    sudo: flag('Run the LVM commands and dd through "sudo -n" (needs NOPASSWD sudoers rules for them on sshhost).').optional(),
    lvcreate_command: command('lvcreate'),
    lvs_command: command('lvs'),
    lvremove_command: command('lvremove'),
    dd_command: command('dd'),
  }),
);
export type LvmSshOptions = z.output<ReturnType<typeof LvmSshOptions>>;
