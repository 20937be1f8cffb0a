#!/usr/bin/env node
import { runCheckCommand } from '../lib/check/command';

const result = runCheckCommand(process.argv.slice(2));
for (const line of result.stdout) console.log(line);
for (const line of result.stderr) console.error(line);
process.exitCode = result.status;
