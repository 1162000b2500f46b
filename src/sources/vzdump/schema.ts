import { z } from 'zod';
import { lazySchema } from '../../plugin.js';

export const VZDUMP_SOURCE_TYPE = 'vzdump';

export const VzdumpOptions = lazySchema(() =>
  z.object({
    vmids: z
      .array(z.coerce.number().int('a guest id (VMID)').min(1, 'a guest id (VMID)'))
      .min(1)
      .optional()
      .describe('Only these guest ids (VMIDs) are stored; the hook ignores the others. Default: every guest the vzdump job backs up.'),
  }),
);
export type VzdumpOptions = z.output<ReturnType<typeof VzdumpOptions>>;

/** The source id a guest's backups are stored and reported under. */
export function guestSourceId(vmid: number | string): string {
  return `vzdump-${vmid}`;
}

/** The guest id of a `vzdump-{VMID}` source id, or undefined. */
export function guestVmid(sourceId: string): number | undefined {
  const m = /^vzdump-(\d+)$/.exec(sourceId);
  return m ? Number(m[1]) : undefined;
}

/** Whether a vzdump source with these options takes this guest. */
export function takesGuest(options: VzdumpOptions, vmid: number): boolean {
  return !options.vmids || options.vmids.includes(vmid);
}
