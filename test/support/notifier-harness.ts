/**
 * Builds a notification channel the way the loader and dispatcher use it, for channel tests:
 *
 *   const notifier = await buildNotifier(slackNotification, { id: 'team', url: receiver.url + '/services/T/B/X' });
 *   await deliver(notifier, eventsOf(makeRunReport({ status: 'failure' })));
 */
import { NotificationCommon } from '../../src/config/common.js';
import { pluginSchema } from '../../src/config/validate.js';
import { silentLogger } from '../../src/log.js';
import type { NotificationEvent, NotificationPlugin, Notifier } from '../../src/notifications/types.js';
import { notifyOptions } from './reports.js';

export const testContext = {
  job: { path: '/etc/backup/nightly.json', name: 'nightly', hostname: 'db1.example.org' },
  logger: silentLogger,
};

/** Validates `raw` as the loader does (common keys merged, unknown keys rejected, cross-key problems) and creates the notifier. */
export async function buildNotifier(plugin: NotificationPlugin, raw: Record<string, unknown>): Promise<Notifier> {
  const options = pluginSchema(NotificationCommon, plugin).parse({ type: plugin.type, ...raw }) as Record<string, unknown>;
  const problems = plugin.problems?.(options as never) ?? [];
  if (problems.length) throw new Error(problems.map((p) => `${p.key}: ${p.message}`).join('; '));
  return plugin.create(options as never, testContext);
}

/** Sends events as the dispatcher does: only those the notifier wants, in order, one attempt each. */
export async function deliver(notifier: Notifier, events: readonly NotificationEvent[]): Promise<void> {
  for (const event of events) {
    if (notifier.wants(event)) await notifier.notify(event, notifyOptions());
  }
}

/** The rejection of a promise that must reject (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
