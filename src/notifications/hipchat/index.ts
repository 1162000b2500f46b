/**
 * `hipchat`: retired. Atlassian shut HipChat down in 2019; the loader turns `retired` into a
 * job-file error that says what to use instead.
 */
import { NotificationError } from '../../errors.js';
import { defineNotification } from '../types.js';
import { HipchatOptions } from './schema.js';

export const HIPCHAT_RETIRED = 'HipChat was shut down in 2019; use slack, discord, matrix, telegram, ntfy or webhook instead';

export const hipchatNotification = defineNotification({
  type: 'hipchat',
  description: 'Retired: HipChat was shut down in 2019.',
  get options() {
    return HipchatOptions();
  },
  retired: HIPCHAT_RETIRED,
  create(options) {
    throw new NotificationError(HIPCHAT_RETIRED, { plugin: options.id ?? 'hipchat' });
  },
});
