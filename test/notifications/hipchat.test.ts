import { describe, expect, it } from 'vitest';
import { JobFileError, loadJobText } from '../../src/config/load.js';
import { HIPCHAT_RETIRED } from '../../src/notifications/hipchat/index.js';
import { Redactor } from '../../src/secrets.js';

function load(notification: Record<string, unknown>) {
  return loadJobText(
    JSON.stringify({
      sources: [{ id: 'etc', type: 'folder', path: '/etc', passphrase: 'x-passphrase' }],
      destinations: [{ id: 'disk', type: 'local', path: '/var/backups' }],
      notifications: [notification],
    }),
    { env: {}, redactor: new Redactor() },
    '/etc/backup/old.json',
  );
}

describe('hipchat notification (retired)', () => {
  it("the original's hipchat entry fails the job file with what to use instead", () => {
    let caught: unknown;
    try {
      load({ type: 'hipchat', url: 'https://www.hipchat.com/v2/room/1/notification?auth_token=abc', notify_on_success: 0, notify_on_failure: 1 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(JobFileError);
    const problems = (caught as JobFileError).problems;
    expect(problems).toEqual([{ path: 'notifications[0].type', message: HIPCHAT_RETIRED }]);
    expect(HIPCHAT_RETIRED).toMatch(/shut down in 2019; use slack, discord, matrix, telegram, ntfy or webhook instead/);
  });
});
