#!/usr/bin/env node
// Starts the built CLI; `npm run build` produces dist/.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
