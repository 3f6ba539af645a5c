#!/usr/bin/env node
// npm run bench [-- OPTIONS]: the benchmarks, with the options reaching them.
// npm appends `-- OPTIONS` to the last command of a script only, so the
// script runs this one program and it passes them on:
//
//   npm run bench -- --messages 100000 --window 500   bench.mjs with those options, then bench-safety.mjs
//   npm run bench -- --latency [--rounds N …]          bench-latency.mjs alone (desktop push, phone push, Web Push)
//   npm run bench -- --reach [--messages N --rounds R …] bench-reach.mjs alone (search, open, attachments beyond the window)
//   npm run bench -- --nodes [--setups sqlite:1,postgres:2 …] bench-nodes.mjs alone (many accounts on one or more server nodes)
//   npm run bench -- --idle [--agents N …]             bench-idle.mjs alone (idle agents a node holds, and its memory)
//
// Each part runs as its own process, in turn; the first that fails ends the run with its exit status.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const run = (script, options) => {
  const { status, signal } = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...options], { stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? (signal ? 1 : 0));
};
if (args.includes('--latency')) {
  run('./bench-latency.mjs', args.filter((a) => a !== '--latency'));
} else if (args.includes('--nodes')) {
  run('./bench-nodes.mjs', args.filter((a) => a !== '--nodes'));
} else if (args.includes('--idle')) {
  run('./bench-idle.mjs', args.filter((a) => a !== '--idle'));
} else if (args.includes('--reach')) {
  run('./bench-reach.mjs', args.filter((a) => a !== '--reach'));
} else {
  run('./bench.mjs', args);
  run('./bench-safety.mjs', []);
}
