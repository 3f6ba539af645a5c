#!/usr/bin/env node
// The multi-node benchmark (issue 22): many accounts syncing at once against
// one or more server nodes, measured on the server side. A protocol-level load
// generator (packages/testkit/src/load/) stands in for the agents: each
// simulated agent speaks the sync protocol over TLS WebSockets with the
// agent's own transport, an in-memory desktop instead of IMAP — so 200 accounts
// need neither 200 agent processes nor 200 IMAP accounts, and the server is
// what is measured.
//
//   npm run bench -- --nodes [options]   (or, built: node scripts/bench-nodes.mjs [options])
//
// Options:
//   --setups LIST          deployments to compare in one run, each STORE:NODES[+lb]
//                          (default sqlite:1,postgres:1,postgres:2; +lb puts HAProxy in
//                          front of one node; several nodes always get it)
//   --accounts N           accounts syncing at once (default 200)
//   --syncs N              update syncs per account after its initial sync (default 5)
//   --window W             each account's phone window (default 20)
//   --initial-messages N   desktop messages before the initial sync (default 5)
//   --desktop-inserts N    new desktop messages before each update sync (default 2)
//   --desktop-flags N      desktop read-state changes before each update sync (default 1)
//   --phone-changes N      phone API changes before each update sync (default 2)
//   --message-bytes N      body size of each message (default 3000)
//   --keep-links           one connection per agent for all its syncs (default: one per sync)
//   --think-ms N           pause between an agent's cycles (default 0: back to back)
//   --provision store|cli  how accounts are made (default: store for SQLite, cli otherwise)
//   --quick                20 accounts, 2 syncs: a smoke run
//   --json                 print the results as JSON only
//   --out FILE             where the JSON goes (default bench-results/bench-nodes.json)
//   --nodes                accepted and ignored (how `npm run bench` selects this benchmark)
//
// Against a deployment already running (any store): --config FILE --url wss://HOST:PORT/sync
// [--pids P1,P2] (server pids, for RSS and CPU); accounts are made with the CLI on that config.
//
// A PostgreSQL setup starts a private PostgreSQL (durable commits, as SQLite's synchronous=FULL),
// gives the nodes `store: { kind: "postgres", url }` in their config, and counts its client
// connections. Until the PostgreSQL store lands, the server refuses that config: the setup is
// reported as skipped with the server's reason.
//
// The generator shares the machine's cores with the server: compare setups of one run, not
// absolute figures across machines.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setInterval, clearInterval } from 'node:timers';
import { parseArgs } from 'node:util';
import {
  MiB,
  SERVER_CLI,
  ServerNode,
  processCpuSeconds,
  processMemory,
  processTreeCpuSeconds,
  provisionAccounts,
  runLoad,
  serverPins,
  startHaproxy,
  startPostgres,
} from '@twinbox/testkit';

const { values } = parseArgs({
  options: {
    nodes: { type: 'boolean' },
    setups: { type: 'string' },
    accounts: { type: 'string' },
    syncs: { type: 'string' },
    window: { type: 'string' },
    'initial-messages': { type: 'string' },
    'desktop-inserts': { type: 'string' },
    'desktop-flags': { type: 'string' },
    'phone-changes': { type: 'string' },
    'message-bytes': { type: 'string' },
    'keep-links': { type: 'boolean' },
    'think-ms': { type: 'string' },
    provision: { type: 'string' },
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    config: { type: 'string' },
    url: { type: 'string' },
    pids: { type: 'string' },
  },
});

const num = (name, fallback) => {
  const v = values[name] === undefined ? fallback : Number(values[name]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a whole number`);
  return v;
};
const ACCOUNTS = num('accounts', values.quick ? 20 : 200);
const load = {
  updateSyncs: num('syncs', values.quick ? 2 : 5),
  initialMessages: num('initial-messages', 5),
  desktopInserts: num('desktop-inserts', 2),
  desktopFlagChanges: num('desktop-flags', 1),
  phoneChanges: num('phone-changes', 2),
  messageBytes: num('message-bytes', 3000),
  keepLinks: values['keep-links'] ?? false,
  thinkMs: num('think-ms', 0),
};
const WINDOW = num('window', 20);
const say = values.json ? () => undefined : (line) => console.log(line);

function cli(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [SERVER_CLI, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => resolve({ ok: !error, stdout, stderr }));
  });
}

/** Sample `read` every `ms` until stopped; the largest value seen. */
function sampler(read, ms) {
  let peak = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      peak = Math.max(peak, await read());
    } catch {
      // a sample lost (a node restarting) is no result
    } finally {
      busy = false;
    }
  }, ms);
  return { stop: () => (clearInterval(timer), peak) };
}

function parseSetup(text) {
  const match = /^(sqlite|postgres):(\d+)(\+lb)?$/.exec(text.trim());
  if (!match) throw new Error(`--setups: ${text} is not STORE:NODES[+lb] (sqlite:1, postgres:2, sqlite:1+lb)`);
  const nodes = Number(match[2]);
  if (nodes < 1) throw new Error(`--setups: ${text} needs at least one node`);
  return { name: text.trim(), store: match[1], nodes, balancer: nodes > 1 || match[3] !== undefined };
}

/** Run the load against what is listening at `url`, measuring `pids` and PostgreSQL. */
async function measure(url, pins, accounts, pids, pg) {
  const cpuBefore = pids.map((pid) => processCpuSeconds(pid));
  // Where the machine's CPU went: the nodes, PostgreSQL (all its processes), and this process (the load generator).
  const pgCpuBefore = pg ? processTreeCpuSeconds(pg.pid) : 0;
  const generatorBefore = process.cpuUsage();
  const rss = pids.map((pid) => sampler(() => processMemory(pid).rssBytes, 250));
  const connections = pg ? sampler(() => pg.connections(), 1000) : undefined;
  const report = await runLoad({ url, pins, accounts, ...load, onProgress: (line) => say(`  ${line}`) });
  const nodes = pids.map((pid, i) => {
    const memory = processMemory(pid);
    return {
      pid,
      rssPeakMiB: Math.round(Math.max(rss[i].stop(), memory.rssBytes) / MiB),
      rssEndMiB: Math.round(memory.rssBytes / MiB),
      cpuSeconds: Number((processCpuSeconds(pid) - cpuBefore[i]).toFixed(1)),
    };
  });
  const generator = process.cpuUsage(generatorBefore);
  return {
    ...report,
    nodes,
    postgresConnectionsPeak: connections ? connections.stop() : null,
    postgresCpuSeconds: pg ? Number((processTreeCpuSeconds(pg.pid) - pgCpuBefore).toFixed(1)) : null,
    generatorCpuSeconds: Number(((generator.user + generator.system) / 1e6).toFixed(1)),
  };
}

async function runSetup(setup) {
  if (setup.store === 'sqlite' && setup.nodes > 1) return { setup: setup.name, skipped: 'several nodes need the PostgreSQL store (one SQLite file is one node)' };
  const dir = mkdtempSync(join(tmpdir(), 'twinbox-bench-nodes-'));
  const cleanup = [];
  try {
    const init = await cli(['init', '--dir', join(dir, 'server'), '--port', '0', '--json']);
    if (!init.ok) throw new Error(`twinbox-server init failed: ${init.stderr}`);
    const config = join(dir, 'server', 'config.json');
    const file = JSON.parse(readFileSync(config, 'utf8'));
    // The generator is one source address: the per-source cap on connections not yet logged in is raised for it.
    file.connections = { maxUnauthenticatedPerSource: ACCOUNTS * 4 + 64, maxUnauthenticated: ACCOUNTS * 4 + 64 };
    let pg;
    if (setup.store === 'postgres') {
      pg = await startPostgres({ durable: true, settings: { max_connections: 50 + setup.nodes * 50 } });
      cleanup.push(() => pg.stop());
      const db = await pg.createDatabase('twinbox');
      delete file.database;
      file.store = { kind: 'postgres', url: db.url };
      pg.database = db.name;
    }
    writeFileSync(config, JSON.stringify(file, null, 2));
    // Does this server take the config (a server before the PostgreSQL store refuses `store`)?
    const check = await cli(['account', 'list', '--config', config, '--json']);
    if (!check.ok) return { setup: setup.name, skipped: `the server refuses this config: ${check.stderr.trim().split('\n').slice(0, 3).join(' ')}` };

    say(`${setup.name}: ${ACCOUNTS} accounts …`);
    const via = values.provision ?? (setup.store === 'sqlite' ? 'store' : 'cli');
    const accounts = await provisionAccounts(config, ACCOUNTS, { window: WINDOW, via });
    const pins = await serverPins(config);
    const nodes = [];
    for (let i = 1; i <= setup.nodes; i++) {
      const node = await ServerNode.start({ config, name: `n${i}` });
      cleanup.push(() => node.stop());
      nodes.push(node);
    }
    let url = `wss://127.0.0.1:${nodes[0].port}/sync`;
    if (setup.balancer) {
      const haproxy = await startHaproxy(nodes.map((n) => n.port));
      cleanup.push(() => haproxy.stop());
      for (const n of nodes) await haproxy.waitForNode(n.port, true);
      url = haproxy.syncUrl;
    }
    const pgHandle = pg ? { pid: pg.pid, connections: () => pg.connections(pg.database) } : undefined;
    const result = await measure(url, pins, accounts, nodes.map((n) => n.pid), pgHandle);
    const errors = nodes.flatMap((n) => n.log.split('\n').filter((l) => /"level":"error"/.test(l))).slice(0, 5);
    return { setup: setup.name, store: setup.store, nodeCount: setup.nodes, balancer: setup.balancer, ...result, serverErrors: errors };
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runAttached() {
  if (!values.url) throw new Error('--config needs --url (the wss:// address the nodes or their balancer answer at)');
  const accounts = await provisionAccounts(values.config, ACCOUNTS, { window: WINDOW, via: values.provision ?? 'cli', prefix: `load${Date.now().toString(36)}x` });
  const pins = await serverPins(values.config);
  const pids = (values.pids ?? '').split(',').filter(Boolean).map(Number);
  return { setup: `attached ${values.url}`, ...(await measure(values.url, pins, accounts, pids, undefined)) };
}

function printResult(r) {
  if (r.skipped) return say(`${r.setup}: skipped — ${r.skipped}`);
  const u = r.update;
  const i = r.initial;
  say(`${r.setup}: ${r.accounts} accounts`);
  say(`  update syncs:  ${u.sessionsPerSecond} sessions/s, p50 ${u.p50Ms} ms, p95 ${u.p95Ms} ms, max ${u.maxMs} ms; ${u.sessions} done, ${u.failed} failed ${JSON.stringify(u.failures)}; ${u.meanBytesPerSession} bytes/session`);
  say(`  initial syncs: ${i.sessionsPerSecond} sessions/s, p50 ${i.p50Ms} ms, p95 ${i.p95Ms} ms; ${i.sessions} done, ${i.failed} failed ${JSON.stringify(i.failures)}`);
  say(`  phone API:     ${r.phone.requests} requests, p50 ${r.phone.p50Ms} ms, p95 ${r.phone.p95Ms} ms, ${r.phone.failed} failed`);
  for (const n of r.nodes) say(`  node pid ${n.pid}: RSS peak ${n.rssPeakMiB} MiB (end ${n.rssEndMiB} MiB), CPU ${n.cpuSeconds} s`);
  if (r.postgresConnectionsPeak !== null && r.postgresConnectionsPeak !== undefined) say(`  PostgreSQL connections (peak): ${r.postgresConnectionsPeak}, CPU ${r.postgresCpuSeconds} s (all its processes)`);
  if (r.generatorCpuSeconds !== undefined) say(`  load generator CPU ${r.generatorCpuSeconds} s (shares the machine)`);
  for (const e of r.examples ?? []) say(`  e.g. ${e}`);
}

/** The bar, where the setups it compares ran. */
function verdicts(results) {
  const by = (name) => results.find((r) => r.setup === name && !r.skipped);
  const lines = [];
  const sqlite = by('sqlite:1');
  const pg1 = by('postgres:1');
  const pg2 = by('postgres:2');
  if (sqlite && pg1) {
    const ratio = pg1.update.p50Ms / sqlite.update.p50Ms;
    lines.push(`one PostgreSQL node / one SQLite node, p50 update session time: ${ratio.toFixed(2)}× (goal ≤ 1.5×) ${ratio <= 1.5 ? 'met' : 'NOT met'}`);
  }
  if (pg2) lines.push(`two PostgreSQL nodes: ${pg2.update.failed + pg2.initial.failed} failed sessions (goal 0) ${pg2.update.failed + pg2.initial.failed === 0 ? 'met' : 'NOT met'}`);
  return lines;
}

const setups = values.config ? [] : (values.setups ?? 'sqlite:1,postgres:1,postgres:2').split(',').map(parseSetup);
const results = [];
if (values.config) results.push(await runAttached());
for (const setup of setups) results.push(await runSetup(setup));
say('');
for (const r of results) printResult(r);
const bar = verdicts(results);
for (const line of bar) say(line);
const output = {
  at: new Date().toISOString(),
  options: { accounts: ACCOUNTS, window: WINDOW, ...load },
  results,
  verdicts: bar,
};
const out = values.out ?? 'bench-results/bench-nodes.json';
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(output, null, 2));
if (values.json) console.log(JSON.stringify(output));
else say(`written to ${out}`);
