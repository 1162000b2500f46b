/** Every notification plugin, listed explicitly. A test checks this list against src/notifications/<type>/ folders. */
import type { NotificationPlugin } from './types.js';
import { flagfileNotification } from './flagfile/index.js';

export const notificationPlugins: readonly NotificationPlugin[] = [
  flagfileNotification,
];
