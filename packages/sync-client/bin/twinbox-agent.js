#!/usr/bin/env node
// The twinbox-agent command. npm links this file when it installs, before anything is built (a bin pointing
// into dist/ would not be linked on a fresh clone: issue 13); it runs the built program, or says how to build it.
import { existsSync } from 'node:fs';

// From the very first line, before the program loads: Node opens its inspector on a SIGUSR1 nobody handles
// (the program itself then says it ignores one: @twinbox/cli program.ts).
process.on('SIGUSR1', () => undefined);

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('twinbox-agent: not built yet: run `npm run build` in the Twinbox folder first');
  process.exit(69);
}
await import(cli.href);
