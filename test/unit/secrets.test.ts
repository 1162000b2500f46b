import { describe, expect, it } from 'vitest';
import { Redactor, maskUrlCredentials } from '../../src/secrets.js';
import { withRetry } from '../../src/retry.js';
import { nearest } from '../../src/config/nearest.js';

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
