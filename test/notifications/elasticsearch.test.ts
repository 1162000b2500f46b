import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NotificationCommon } from '../../src/config/common.js';
import { pluginSchema } from '../../src/config/validate.js';
import { elasticsearchNotification } from '../../src/notifications/elasticsearch/index.js';
import { formatIndexName } from '../../src/notifications/elasticsearch/index-name.js';
import { isPermanentHttpError } from '../../src/lib/http.js';
import { redactor } from '../../src/secrets.js';
import { startReceiver, type Receiver, type RecordedRequest, type ReceiverResponse } from '../support/http-receiver.js';
import { buildNotifier, deliver, rejectionOf } from '../support/notifier-harness.js';
import { eventsOf, makeRunReport, makeSourceReport } from '../support/reports.js';

const ES_USER = 'backups';
const ES_PASSWORD = 'es-Pw-0c9d8e7f';
const API_KEY = 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==';
const PASSPHRASE = 'es-test-passphrase-3141';

interface StoredDoc {
  index: string;
  id: string;
  source: Record<string, unknown>;
}

/**
 * The _bulk API as Elasticsearch documents it: POST /_bulk (or /<index>/_bulk), NDJSON body of
 * action/metadata lines each followed by the document for index/create, the last line ending
 * in "\n", Content-Type application/x-ndjson. `create` of an existing _id fails that item with
 * 409 version_conflict_engine_exception; the answer is 200 with `errors: true` and per-item
 * status. Security on: 401 with a security_exception without valid credentials.
 */
function elasticsearch(store: StoredDoc[], accept: (authorization: string | undefined) => boolean, refuse?: (doc: Record<string, unknown>) => ReceiverResponse['json']) {
  return (req: RecordedRequest): ReceiverResponse => {
    if (!accept(req.headers.authorization)) {
      return {
        status: 401,
        headers: { 'www-authenticate': 'Basic realm="security" charset="UTF-8"' },
        json: { error: { type: 'security_exception', reason: 'unable to authenticate user [x] for REST request [/_bulk]' }, status: 401 },
      };
    }
    const m = /^(?:\/es)?(?:\/([^/_][^/]*))?\/_bulk$/.exec(req.pathname);
    if (req.method !== 'POST' && req.method !== 'PUT') return { status: 405, json: { error: 'Incorrect HTTP method', status: 405 } };
    if (!m) return { status: 400, json: { error: { type: 'illegal_argument_exception', reason: `no handler for ${req.pathname}` }, status: 400 } };
    if (!String(req.headers['content-type']).startsWith('application/x-ndjson') && !String(req.headers['content-type']).startsWith('application/json')) {
      return { status: 406, json: { error: 'Content-Type header is not supported', status: 406 } };
    }
    if (!req.text.endsWith('\n')) {
      return { status: 400, json: { error: { type: 'illegal_argument_exception', reason: 'The bulk request must be terminated by a newline [\\n]' }, status: 400 } };
    }
    const lines = req.text.split('\n').filter((l) => l !== '');
    const items: Record<string, unknown>[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const action = JSON.parse(lines[i]!) as Record<string, { _index?: string; _id?: string }>;
      const [op, meta] = Object.entries(action)[0]!;
      const doc = JSON.parse(lines[i + 1]!) as Record<string, unknown>;
      const index = meta._index ?? m[1]!;
      const id = meta._id ?? `auto-${store.length}`;
      const refused = refuse?.(doc);
      if (refused) {
        items.push({ [op]: { _index: index, _id: id, ...(refused as object) } });
      } else if (op === 'create' && store.some((d) => d.index === index && d.id === id)) {
        items.push({
          [op]: { _index: index, _id: id, status: 409, error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists (current version [1])` } },
        });
      } else {
        store.push({ index, id, source: doc });
        items.push({ [op]: { _index: index, _id: id, _version: 1, result: 'created', status: 201 } });
      }
    }
    return { status: 200, json: { took: 3, errors: items.some((it) => (Object.values(it)[0] as { status: number }).status >= 300), items } };
  };
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('elasticsearch notification', () => {
  let receiver: Receiver;
  let store: StoredDoc[];

  beforeAll(async () => {
    redactor.add(PASSPHRASE);
    redactor.add(ES_PASSWORD);
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => {
    receiver.clear();
    store = [];
    receiver.respond(elasticsearch(store, (auth) => auth === basic(ES_USER, ES_PASSWORD)));
  });

  const twoSources = () =>
    makeRunReport({
      sources: [
        makeSourceReport({ id: 'etc', type: 'folder', name: 'Live server config' }),
        makeSourceReport({ id: 'db', status: 'failure', error: `mysqldump: access denied (password ${PASSPHRASE})` }),
      ],
    });

  it('writes one document per source of the run with _bulk, authenticated, into the strftime index', async () => {
    const notifier = await buildNotifier(elasticsearchNotification, {
      id: 'logging',
      url: `${receiver.url}/`,
      credentials: { username: ES_USER, password: ES_PASSWORD },
      indexpattern: 'backups-%Y.%m.%d-%j',
    });
    const run = twoSources();
    await deliver(notifier, eventsOf(run));

    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.pathname).toBe('/_bulk');
    expect(req.headers['content-type']).toBe('application/x-ndjson');
    expect(req.headers.authorization).toBe(basic(ES_USER, ES_PASSWORD));

    expect(store.map((d) => [d.index, d.id])).toEqual([
      ['backups-2026.03.14-073', `${run.runId}-etc`],
      ['backups-2026.03.14-073', `${run.runId}-db`],
    ]);
    const [etc, db] = store.map((d) => d.source);
    expect(etc).toMatchObject({
      '@timestamp': run.sources[0]!.finishedAt,
      hostname: 'db1.example.org',
      job: { name: 'nightly', path: '/etc/backup/nightly.json' },
      status: 'success',
      error: null,
      source: { id: 'etc', name: 'Live server config', type: 'folder' },
      duration_seconds: 42,
      stored_bytes: 2 * 1024 * 1024,
      raw_bytes: 10 * 1024 * 1024,
      destinations: [{ id: 'disk', type: 'local', status: 'success', stored_bytes: 2 * 1024 * 1024, upload_seconds: 3, retained_copies: 3, deleted_runs: 1 }],
      stats: { size: 2 * 1024 * 1024, dumptime: 42, uploadtime: 3, dumpedfiles: 1, retainedfiles: 3 },
      run: { id: run.runId, status: 'failed' },
    });
    expect(db).toMatchObject({ status: 'failed', error: 'mysqldump: access denied (password ***)', source: { id: 'db' }, stored_bytes: 0 });
    expect(`${JSON.stringify(req.headers)}${req.text}`).not.toContain(PASSPHRASE);
    expect(req.text).not.toContain(ES_PASSWORD);
  });

  it('a retried request does not duplicate documents (create with fixed _id; 409 counts as delivered)', async () => {
    const notifier = await buildNotifier(elasticsearchNotification, { id: 'logging', url: receiver.url, username: ES_USER, password: ES_PASSWORD });
    const run = twoSources();
    await notifier.notify({ kind: 'run', run }, { signal: AbortSignal.timeout(5000) });
    await notifier.notify({ kind: 'run', run }, { signal: AbortSignal.timeout(5000) });
    expect(receiver.requests).toHaveLength(2);
    expect(store).toHaveLength(2);
    expect(store[0]!.index).toBe('backups-2026');
  });

  it('rejects wrong credentials with a clear, permanent error that holds no password', async () => {
    const notifier = await buildNotifier(elasticsearchNotification, { id: 'logging', url: receiver.url, credentials: { username: ES_USER, password: 'wrong-Pw-55' } });
    redactor.add('wrong-Pw-55');
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: twoSources() }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toContain('HTTP 401');
    expect(error.message).toContain('security_exception');
    expect(error.message).not.toContain('wrong-Pw-55');
    expect(isPermanentHttpError(error)).toBe(true);
    expect(store).toHaveLength(0);
  });

  it('takes user:password from the URL (the original allowed it) and sends it as Basic auth, not in the URL', async () => {
    const url = new URL(receiver.url);
    url.username = ES_USER;
    url.password = ES_PASSWORD;
    const notifier = await buildNotifier(elasticsearchNotification, { id: 'logging', url: `${url.toString()}es/` });
    await notifier.notify({ kind: 'run', run: twoSources() }, { signal: AbortSignal.timeout(5000) });
    expect(receiver.requests[0]!.pathname).toBe('/es/_bulk');
    expect(receiver.requests[0]!.headers.authorization).toBe(basic(ES_USER, ES_PASSWORD));
    expect(store).toHaveLength(2);
  });

  it('sends an API key as Authorization: ApiKey', async () => {
    receiver.respond(elasticsearch(store, (auth) => auth === `ApiKey ${API_KEY}`));
    const notifier = await buildNotifier(elasticsearchNotification, { id: 'logging', url: receiver.url, api_key: API_KEY });
    await notifier.notify({ kind: 'run', run: twoSources() }, { signal: AbortSignal.timeout(5000) });
    expect(store).toHaveLength(2);
  });

  it('reports documents Elasticsearch refused, with its reason', async () => {
    receiver.respond(
      elasticsearch(
        store,
        () => true,
        (doc) =>
          (doc.source as { id: string } | null)?.id === 'db'
            ? { status: 400, error: { type: 'document_parsing_exception', reason: '[1:2] failed to parse field [stored_bytes] of type [date]' } }
            : undefined,
      ),
    );
    const notifier = await buildNotifier(elasticsearchNotification, { id: 'logging', url: receiver.url });
    const error = await rejectionOf(notifier.notify({ kind: 'run', run: twoSources() }, { signal: AbortSignal.timeout(5000) }));
    expect(error.message).toContain('refused 1 of 2 document(s) for index "backups-2026"');
    expect(error.message).toContain('document_parsing_exception');
    expect(isPermanentHttpError(error)).toBe(true);
    expect(store).toHaveLength(1);
  });

  it('a run that failed before any source still gets a document', async () => {
    const notifier = await buildNotifier(elasticsearchNotification, { id: 'logging', url: receiver.url });
    receiver.respond(elasticsearch(store, () => true));
    const run = makeRunReport({ status: 'failure', sources: [], error: 'job file: sources[0].path: required' });
    await deliver(notifier, eventsOf(run));
    expect(store).toHaveLength(1);
    expect(store[0]!.source).toMatchObject({ status: 'failed', error: 'job file: sources[0].path: required', source: null, hostname: 'db1.example.org' });
  });

  it('notify_on_success: 0 indexes only the failed sources', async () => {
    receiver.respond(elasticsearch(store, () => true));
    const notifier = await buildNotifier(elasticsearchNotification, { id: 'logging', url: receiver.url, notify_on_success: 0 });
    await deliver(notifier, eventsOf(twoSources()));
    expect(store.map((d) => (d.source.source as { id: string }).id)).toEqual(['db']);
    receiver.clear();
    await deliver(notifier, eventsOf(makeRunReport()));
    expect(receiver.requests).toHaveLength(0);
  });

  it('formats index patterns in UTC and refuses patterns Elasticsearch would refuse', () => {
    const date = new Date('2026-12-31T23:05:09Z');
    expect(formatIndexName('backups-%Y', date)).toBe('backups-2026');
    expect(formatIndexName('b-%y%m%d%H%M%S-%j-100%%', date)).toBe('b-261231230509-365-100%');
    const problems = (raw: Record<string, unknown>) => {
      const options = pluginSchema(NotificationCommon, elasticsearchNotification).parse({ type: 'elasticsearch', url: 'https://es:9200', ...raw });
      return elasticsearchNotification.problems!(options as never).map((p) => `${p.key}: ${p.message}`);
    };
    expect(problems({ indexpattern: 'Backups-%Y' })[0]).toMatch(/^indexpattern: index names must be lower case/);
    expect(problems({ indexpattern: 'backups-%Q' })[0]).toMatch(/^indexpattern: unsupported directive %Q/);
    expect(problems({ indexpattern: '_backups' })[0]).toMatch(/must not start with/);
    expect(problems({ username: 'u' })).toEqual(['password: required when a username is given']);
    expect(problems({ indexpattern: 'backups-%Y.%m' })).toEqual([]);
  });
});
