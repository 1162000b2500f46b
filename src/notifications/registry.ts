/** Every notification plugin, listed explicitly. A test checks this list against src/notifications/<type>/ folders. */
import type { NotificationPlugin } from './types.js';
import { flagfileNotification } from './flagfile/index.js';
import { slackNotification } from './slack/index.js';
import { discordNotification } from './discord/index.js';
import { matrixNotification } from './matrix/index.js';
import { telegramNotification } from './telegram/index.js';
import { uptimeKumaNotification } from './uptime-kuma/index.js';
import { healthchecksNotification } from './healthchecks/index.js';
import { ntfyNotification } from './ntfy/index.js';
import { smtpNotification } from './smtp/index.js';
import { prometheusNotification } from './prometheus/index.js';
import { elasticsearchNotification } from './elasticsearch/index.js';
import { webhookNotification } from './webhook/index.js';
import { hipchatNotification } from './hipchat/index.js';
import { duplistatusNotification } from './duplistatus/index.js';

export const notificationPlugins: readonly NotificationPlugin[] = [
  flagfileNotification,
  slackNotification,
  discordNotification,
  matrixNotification,
  telegramNotification,
  uptimeKumaNotification,
  healthchecksNotification,
  ntfyNotification,
  smtpNotification,
  prometheusNotification,
  elasticsearchNotification,
  webhookNotification,
  hipchatNotification,
  duplistatusNotification,
];
