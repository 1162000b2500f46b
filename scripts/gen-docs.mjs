#!/usr/bin/env node
// npm run docs: writes docs/job-file.md from the built schemas (run `npm run build` first).
import { mkdirSync, writeFileSync } from 'node:fs';
import { renderJobReference } from '../dist/config/docs.js';

mkdirSync(new URL('../docs', import.meta.url), { recursive: true });
writeFileSync(new URL('../docs/job-file.md', import.meta.url), renderJobReference());
console.log('wrote docs/job-file.md');
