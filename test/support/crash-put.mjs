#!/usr/bin/env node
/**
 * A put that never ends, in a process of its own, for the destination contract's crash test:
 *
 *   node test/support/crash-put.mjs '{"type":"s3","options":{...},"key":"crash/1/x.bin"}'
 *
 * Creates the destination from the built dist/ (as the runner does: plugin, job-file options
 * parsed by its schema) and streams endless bytes into `key`. It prints one JSON line with its
 * pid first, then `{"consumed":N}` each time the destination has taken another MiB. The test
 * kills it with SIGKILL while bytes flow, as kill -9 of the runner or a power loss would.
 */
/* global process, AbortController -- a Node script (the lint config gives Node globals to bin/ and scripts/ only) */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { destinationPlugins } from '../../dist/destinations/registry.js';
import { silentLogger } from '../../dist/log.js';

const { type, options, key } = JSON.parse(process.argv[2] ?? '{}');
const plugin = destinationPlugins.find((p) => p.type === type);
if (!plugin) throw new Error(`no destination plugin ${type}`);
const parsed = plugin.options.parse(options);
const ctx = { job: { path: '/crash-put.json', name: 'crash-put', hostname: 'crash-host' }, logger: silentLogger };
const destination = await plugin.create({ ...parsed, id: 'crash', type }, ctx);

// Incompressible, so no layer on the way can shrink it; one buffer sent again and again.
const block = randomBytes(1 << 20);
let consumed = 0;
const endless = new Readable({
  read() {
    consumed += block.length;
    process.stdout.write(`${JSON.stringify({ consumed })}\n`);
    this.push(block);
  },
});
process.stdout.write(`${JSON.stringify({ pid: process.pid })}\n`);
await destination.put(key, endless, { signal: new AbortController().signal });
// Never reached: the stream does not end.
process.exit(3);
