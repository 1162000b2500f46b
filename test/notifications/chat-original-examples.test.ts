/**
 * The original tool's README examples for its chat channels load unchanged (same keys, 0/1
 * flags) and keep its defaults: failures only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadJobText } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { Redactor } from '../../src/secrets.js';
import { eventsOf, makeRunReport } from '../support/reports.js';
import { makeTempDir } from '../support/tmp.js';

const ORIGINAL_EXAMPLES = [
  { type: 'discord', url: 'https://discordapp.com/api/webhooks/...', notify_on_success: 0, notify_on_failure: 1 },
  { type: 'matrix', url: 'https://matrix.org', access_token: 'ALongStringOfCharacters', room_id: '!roomidstringofchars@matrix.org', notify_on_success: 0, notify_on_failure: 1 },
  { type: 'slack', url: 'https://hooks.slack.com/services/Z03JDZYT4/B03JEZGFG/jqWw4Zr5xPuArlZbbUexIaxP', notify_on_success: 0, notify_on_failure: 1 },
  { type: 'telegram', api_token: '295432120:use_your_own_token_here', chat_id: '38123456', notify_on_success: 0, notify_on_failure: 1 },
];

describe('original README notification examples', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(() => dir.remove());

  function load(notifications: unknown[]) {
    const redactor = new Redactor();
    const text = JSON.stringify({
      hostname: 'my.hostname.com',
      tmpdir: dir.path,
      state_dir: `${dir.path}/state`,
      modules: [],
      sources: [{ id: 'config', type: 'folder', path: '/etc', passphrase: 'youllneverguesswhat' }],
      destinations: [{ id: 'disk', type: 'local', path: `${dir.path}/store` }],
      notifications,
    });
    return { job: loadJobText(text, { env: {}, redactor }, `${dir.path}/job.json`), redactor };
  }

  it('load unchanged, with their secrets registered', () => {
    const { job, redactor } = load(ORIGINAL_EXAMPLES);
    expect(job.notifications.map((n) => n.plugin.type)).toEqual(['discord', 'matrix', 'slack', 'telegram']);
    expect(job.notifications.map((n) => n.options.id)).toEqual(['discord-1', 'matrix-2', 'slack-3', 'telegram-4']);
    expect(redactor.redact(ORIGINAL_EXAMPLES[2]!.url as string)).toBe('***');
    expect(redactor.redact('ALongStringOfCharacters')).toBe('***');
    expect(redactor.redact('295432120:use_your_own_token_here')).toBe('***');
  });

  it('send failures only unless told otherwise', async () => {
    const { job } = load(ORIGINAL_EXAMPLES.map(({ notify_on_success: _s, notify_on_failure: _f, ...rest }) => rest));
    for (const n of job.notifications) {
      const notifier = await n.create({ job: job.info, logger: silentLogger });
      const [start, success, succeeded] = eventsOf(makeRunReport());
      const failed = { kind: 'run', run: makeRunReport({ status: 'failure' }) } as const;
      expect([failed, start!, success!, succeeded!].map((event) => notifier.wants(event)), n.plugin.type).toEqual([true, false, false, false]);
    }
  });

  it('rejects an unknown key with the nearest name', () => {
    expect(() => load([{ type: 'slack', url: 'https://hooks.slack.com/services/x', notify_on_sucess: 1 }])).toThrow(/notifications\[0\]\.notify_on_sucess: unknown key/);
  });
});
