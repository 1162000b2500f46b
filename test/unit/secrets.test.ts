import { describe, expect, it } from 'vitest';
import { Redactor, maskUrlCredentials, redactDeep, redactedExcerpt, redactor } from '../../src/secrets.js';
import { withRetry } from '../../src/lib/retry.js';
import { nearest } from '../../src/config/nearest.js';
import { loadJobText, JobFileError } from '../../src/config/load.js';
import { COMPLETE_EXAMPLE, ITEM_EXAMPLES } from '../fixtures/original-readme-examples.js';

describe('Redactor', () => {
  it('masks every registered secret, longest first, and its URL-encoded form', () => {
    const r = new Redactor();
    r.add('p@ss word');
    r.add('p@ss');
    expect(r.redact('a p@ss word b p@ss c p%40ss%20word')).toBe('a *** b *** c ***');
  });
  it('masks user:password in URLs even when not registered', () => {
    expect(maskUrlCredentials('https://user:hunter2@host/x')).toBe('https://user:***@host/x');
  });
  it('masks the forms a secret travels in: URL-, form- and JSON-encoded, base64', () => {
    const secret = 'sp ace/"quote"&amp!';
    const r = new Redactor();
    r.add(secret);
    const json = JSON.stringify(secret).slice(1, -1);
    for (const form of [
      secret,
      encodeURIComponent(secret),
      encodeURIComponent(secret).replace(/%20/g, '+'),
      new URLSearchParams({ q: secret }).toString().slice(2),
      json,
      JSON.stringify(json).slice(1, -1),
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('base64').replace(/=+$/, ''),
    ]) {
      expect(r.redact(`<${form}>`), form).toBe('<***>');
    }
  });
  it('masks a login as user:password and its base64, with and without padding', () => {
    const r = new Redactor();
    r.addLogin('elastic', 'es-Pw-0c9d8e7f');
    const pair = Buffer.from('elastic:es-Pw-0c9d8e7f').toString('base64');
    expect(pair).toMatch(/=$/);
    expect(r.redact(`Authorization: Basic ${pair}`)).toBe('Authorization: Basic ***');
    expect(r.redact(`auth=${pair.replace(/=+$/, '')};`)).toBe('auth=***;');
    expect(r.redact('as elastic:es-Pw-0c9d8e7f')).toBe('as ***');
  });
  it('learns what an Authorization header value carries', () => {
    const r = new Redactor();
    r.add('Bearer tk_Secr3tBearer');
    r.add(`Basic ${Buffer.from('prom:scrape-Pw-77').toString('base64')}`);
    expect(r.redact('token tk_Secr3tBearer refused; password scrape-Pw-77 wrong')).toBe('token *** refused; password *** wrong');
  });
  it('masks the path, token-like segments and query values of a secret URL, not the API words', () => {
    const r = new Redactor();
    r.add('https://hooks.slack.com/services/T0ABC123/B0DEF456/Xq9TokenPart?token=abc12&mode=compact');
    expect(r.redact('Cannot POST /services/T0ABC123/B0DEF456/Xq9TokenPart')).toBe('Cannot POST ***');
    expect(r.redact('invalid_token Xq9TokenPart for services')).toBe('invalid_token *** for services');
    expect(r.redact('unknown team T0ABC123')).toBe('unknown team ***');
    expect(r.redact('GET /x?token=abc12&mode=compact')).toBe('GET /x?token=***&mode=compact');
    const kuma = new Redactor();
    kuma.add('http://kuma.lan:3001/api/push/AbcdEfghIj?status=up&msg=OK&ping=');
    expect(kuma.redact('404 /api/push/AbcdEfghIj not found (status up)')).toBe('404 *** not found (status up)');
    const userinfo = new Redactor();
    userinfo.add('https://scraper:Pr0m-pass@push.example/metrics');
    expect(userinfo.redact(`Basic ${Buffer.from('scraper:Pr0m-pass').toString('base64')}`)).toBe('Basic ***');
  });
  it('masks short secrets only as whole tokens, so messages stay readable', () => {
    const r = new Redactor();
    r.add('pp');
    r.add('x');
    r.add('backup');
    expect(r.redact('unknown source type "floppy"')).toBe('unknown source type "floppy"');
    expect(r.redact('already exists')).toBe('already exists');
    expect(r.redact('mysqldump -px --password=pp: pp x')).toBe('mysqldump -px --password=***: *** ***');
    // 6 characters and more: anywhere, also inside words.
    expect(r.redact('/srv/backupdata')).toBe('/srv/***data');
  });
  it('redacts the strings of a report, not its JSON text: a secret that is a JSON word breaks nothing', () => {
    redactor.add('1');
    redactor.add('true');
    const report = { copies: 1, ok: true, error: 'login 1 failed', [`host-true`]: ['a true b'], when: null };
    expect(redactDeep(report)).toEqual({ copies: 1, ok: true, error: 'login *** failed', 'host-***': ['a *** b'], when: null });
  });
  it('cuts an excerpt only after redacting, so no half secret survives the cut', () => {
    const secret = 'LongTokenValue-1234567890';
    redactor.add(secret);
    const body = `${'x'.repeat(190)} authorization: Bearer ${secret} and more`;
    const excerpt = redactedExcerpt(body, 200);
    expect(excerpt).not.toContain('LongToken');
    expect(excerpt.length).toBeLessThanOrEqual(201);
  });
});

describe('short passphrases', () => {
  const job = (extra: Record<string, unknown>) =>
    JSON.stringify({ state_dir: '/tmp/x', destinations: [{ id: 'disk', type: 'local', path: '/tmp/x' }], ...extra });
  const problemsOf = (text: string): string[] => {
    try {
      loadJobText(text, { env: {}, redactor: new Redactor() }, '/tmp/job.json');
    } catch (error) {
      if (error instanceof JobFileError) return error.problems.map((p) => `${p.path}: ${p.message}`);
      throw error;
    }
    return [];
  };

  it('refuses an encryption passphrase under 8 characters, naming the key and not the value', () => {
    const folder = { id: 'etc', type: 'folder', path: '/etc' };
    expect(problemsOf(job({ passphrase: 'backup', sources: [folder] }))).toEqual(['passphrase: too short: an encryption passphrase needs at least 8 characters']);
    expect(problemsOf(job({ sources: [{ ...folder, passphrase: 'pp' }] }))).toEqual([
      'sources[0].passphrase: too short: an encryption passphrase needs at least 8 characters',
    ]);
    expect(problemsOf(job({ sources: [{ ...folder, passphrase: 'eight-ch' }] }))).toEqual([]);
  });

  it('every documented example of the original tool still passes the rule', () => {
    const passphrases = [COMPLETE_EXAMPLE, ...ITEM_EXAMPLES.map((e) => e.text)].flatMap((text) => [...text.matchAll(/"passphrase":\s*"([^"]*)"/g)].map((m) => m[1]!));
    expect(passphrases.length).toBeGreaterThan(0);
    for (const passphrase of passphrases) expect(passphrase.length).toBeGreaterThanOrEqual(8);
  });
});

describe('withRetry', () => {
  it('retries transient errors with growing delays and stops at the attempt limit', async () => {
    const delays: number[] = [];
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new Error('transient');
      }, { attempts: 4, baseDelayMs: 100, random: () => 1, sleep: async (ms) => void delays.push(ms) }),
    ).rejects.toThrow('transient');
    expect(calls).toBe(4);
    expect(delays).toEqual([100, 200, 400]);
  });
  it('fails at once on a permanent error', async () => {
    let calls = 0;
    await expect(withRetry(async () => { calls++; throw new Error('403'); }, { isPermanent: () => true, sleep: async () => undefined })).rejects.toThrow();
    expect(calls).toBe(1);
  });
  it('returns the first success', async () => {
    let calls = 0;
    expect(await withRetry(async () => (++calls < 2 ? Promise.reject(new Error('x')) : 'ok'), { sleep: async () => undefined })).toBe('ok');
  });
});

describe('nearest', () => {
  it('suggests the closest valid name for a typo, nothing for unrelated words', () => {
    expect(nearest('pasphrase', ['passphrase', 'path'])).toBe('passphrase');
    expect(nearest('retention_copy', ['retention_copies', 'retention_days'])).toBe('retention_copies');
    expect(nearest('zzzzzz', ['passphrase', 'path'])).toBeUndefined();
  });
});

describe('secrets that cannot be URL-encoded', () => {
  it('registers a secret with a lone surrogate and still masks it', () => {
    const r = new Redactor();
    const secret = 'abc\uD800defghij';
    expect(() => r.add(secret)).not.toThrow();
    expect(r.redact(`token ${secret} here`)).not.toContain(secret);
  });
});
