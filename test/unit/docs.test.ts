import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderJobReference } from '../../src/config/docs.js';
import { jobJsonSchema } from '../../src/config/json-schema.js';
import { allSecretKeys } from '../../src/config/load.js';

describe('job-file reference and JSON Schema', () => {
  it('docs/job-file.md is in step with the schemas (run `npm run build && npm run docs` to refresh)', () => {
    expect(readFileSync(new URL('../../docs/job-file.md', import.meta.url), 'utf8')).toBe(renderJobReference());
  });

  it('the JSON Schema lists every plugin type and the secret _file twins', () => {
    const schema = JSON.stringify(jobJsonSchema(allSecretKeys()));
    for (const type of ['folder', 'local', 'flagfile']) expect(schema).toContain(`"${type}"`);
    expect(schema).toContain('"passphrase_file"');
  });
});
