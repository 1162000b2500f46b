#!/usr/bin/env node
// Starts the CLI that `npm run build` bundled into dist/bundle/backup.cjs, with its code cache
// (src/cli/bundle-loader.ts; the build: scripts/build.mjs).
import { fileURLToPath } from 'node:url';
import { loadCli } from '../dist/cli/bundle-loader.js';

const { main } = loadCli(fileURLToPath(new URL('../dist/bundle/backup.cjs', import.meta.url)));
const code = await main(process.argv);
process.exitCode = code;
// A forgotten keep-alive socket of some SDK must not keep a cron or systemd run hanging after
// its work is done: exit anyway a little later (the timer itself keeps nothing alive).
setTimeout(() => process.exit(code), 10_000).unref();
