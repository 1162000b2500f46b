#!/usr/bin/env node
// Starts the built CLI; `npm run build` produces dist/ (the bundle: scripts/build.mjs).
import { main } from '../dist/bundle/main.js';

const code = await main(process.argv);
process.exitCode = code;
// A forgotten keep-alive socket of some SDK must not keep a cron or systemd run hanging after
// its work is done: exit anyway a little later (the timer itself keeps nothing alive).
setTimeout(() => process.exit(code), 10_000).unref();
