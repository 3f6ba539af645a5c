#!/usr/bin/env node
// Idle agents per node (issue 22's bar: 50,000 per 1.5 GB, unchanged on
// PostgreSQL). A background agent between syncs holds one link to a node: a
// TLS WebSocket on which it said `watch` (the server records its presence and
// pushes sync requests over it) and pings every 15 s. This opens that many
// such links to one node — from generator processes that speak just that part
// of the agent's protocol, so that the node is what is measured — holds them
// past a presence heartbeat, and reads the node's memory.
//
//   npm run bench -- --idle [options]   (or, built: node scripts/bench-idle.mjs [options])
//
// Options:
//   --agents N        idle agents (default 50000)
//   --setups LIST     sqlite:1,postgres:1 (default: both; one node each), and `bare`: the floor — a
//                     process with only Node's https server and ws, which answers `watch` and keeps nothing
//   --hold S          seconds to hold them all before the last reading (default 40: a heartbeat of each kind)
//   --generators K    generator processes (default 4; each its own source address 127.0.0.K+1, as
//                     one address reaches one port from about 28,000 local ports)
//   --json            print the results as JSON only
//   --out FILE        where the JSON goes (default bench-results/bench-idle.json)
//
// A node needs a file descriptor per agent: the bench raises the node's limit with prlimit (as
// root; a deployment sets LimitNOFILE, deploy/twinbox-server.service).
import { execFileSync, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clearInterval, setInterval } from 'node:timers';

const { values } = parseArgs({
  options: {
    idle: { type: 'boolean' },
    agents: { type: 'string' },
    setups: { type: 'string' },
    hold: { type: 'string' },
    generators: { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    // Internal: this process is one generator (its work comes from the parent over IPC), or the bare server.
    generator: { type: 'boolean' },
    'bare-server': { type: 'string' },
  },
});

if (values.generator) process.once('message', (work) => void generator(work));
else if (values['bare-server']) await bareServer(values['bare-server']);
else await main();

/** The floor an idle link costs in Node: an https server and ws with the node's options, nothing of Twinbox's. */
async function bareServer(dir) {
  const { createServer } = await import('node:https');
  const { WebSocketServer } = await import('ws');
  const { encodeFrame, LIMITS } = await import('@twinbox/protocol');
  const https = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')), minVersion: 'TLSv1.2' });
  const wss = new WebSocketServer({ server: https, path: '/sync', maxPayload: LIMITS.maxFrameBytes });
  wss.on('connection', (socket) => socket.once('message', () => socket.send(encodeFrame({ type: 'watching' }))));
  https.listen(0, '127.0.0.1', () => console.log(`listening on ${https.address().port}`));
}

/**
 * One generator: opens its share of the links, at most 24 not yet logged in at once (the node's per-source
 * cap on such connections is 32), reports to the parent when all are watching, pings each every 15 s, and
 * holds them until told to close.
 */
async function generator({ url, from, accounts, localAddress }) {
  const { default: WebSocket } = await import('ws');
  const { encodeFrame, decodeServerFrame, PROTOCOL_VERSION, REQUESTS_VERSION, LIMITS } = await import('@twinbox/protocol');
  const sockets = [];
  let failed = 0;
  const failures = {};
  const open = (account) =>
    new Promise((resolve) => {
      const socket = new WebSocket(url, { rejectUnauthorized: false, minVersion: 'TLSv1.2', localAddress, maxPayload: LIMITS.maxFrameBytes });
      const fail = (why) => {
        failed++;
        failures[why] = (failures[why] ?? 0) + 1;
        socket.terminate();
        resolve();
      };
      socket.once('open', () =>
        socket.send(encodeFrame({ type: 'watch', version: PROTOCOL_VERSION, accountId: account.account, token: account.token, agentId: `idle-${account.account}`, requests: REQUESTS_VERSION })),
      );
      socket.once('message', (data) => {
        const decoded = decodeServerFrame(Buffer.isBuffer(data) ? data : Buffer.concat(data));
        if (!decoded.ok || decoded.frame.message.type !== 'watching') return fail(decoded.ok ? decoded.frame.message.type : 'bad frame');
        sockets.push(socket);
        resolve();
      });
      socket.once('error', (err) => fail(err.code ?? err.message));
      socket.once('close', () => resolve());
    });
  const queue = [...accounts];
  await Promise.all(
    Array.from({ length: 24 }, async () => {
      for (let a = queue.shift(); a !== undefined; a = queue.shift()) await open(a);
    }),
  );
  // The agent's heartbeat (sync-client transport): a ping every 15 s, spread over the interval.
  let i = 0;
  const pinger = setInterval(() => {
    const slice = Math.ceil(sockets.length / 15);
    for (let k = 0; k < slice; k++, i++) sockets[i % sockets.length]?.ping();
  }, 1000);
  let closedByServer = 0;
  for (const s of sockets) s.on('close', () => closedByServer++);
  process.send({ type: 'ready', from, watching: sockets.length, failed, failures });
  process.on('message', (m) => {
    if (m.type === 'count') process.send({ type: 'count', from, open: sockets.length - closedByServer });
    if (m.type === 'close') {
      clearInterval(pinger);
      for (const s of sockets) s.terminate();
      process.exit(0);
    }
  });
}

async function main() {
  const { MiB, SERVER_CLI, ServerNode, processMemory, provisionAccounts, startPostgres } = await import('@twinbox/testkit');
  const AGENTS = Number(values.agents ?? 50_000);
  const HOLD_S = Number(values.hold ?? 40);
  const GENERATORS = Number(values.generators ?? 4);
  const say = values.json ? () => undefined : (line) => console.log(line);
  const cli = (args) =>
    new Promise((resolve, reject) =>
      execFile(process.execPath, [SERVER_CLI, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => (error ? reject(new Error(stderr || error.message)) : resolve(stdout))),
    );
  const mib = (bytes) => Math.round(bytes / MiB);
  const fdLimit = AGENTS + 4096;

  /** The bare server (see bareServer), as a node-like handle. */
  async function startBare(dir) {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--bare-server', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`the bare server exited (${code})`)));
    });
    return { pid: child.pid, port, log: '', stop: async () => void child.kill('SIGKILL') };
  }

  async function runSetup(name) {
    const store = /^(sqlite|postgres):1$|^(bare)$/.exec(name)?.slice(1).find(Boolean);
    if (!store) throw new Error(`--setups: ${name} is not sqlite:1, postgres:1 or bare (idle agents are measured per node)`);
    const dir = mkdtempSync(join(tmpdir(), 'twinbox-bench-idle-'));
    const cleanup = [];
    try {
      await cli(['init', '--dir', join(dir, 'server'), '--port', '0', '--json']);
      const config = join(dir, 'server', 'config.json');
      const file = JSON.parse(readFileSync(config, 'utf8'));
      file.connections = { maxUnauthenticatedPerSource: 32, maxUnauthenticated: 2048 };
      if (store === 'postgres') {
        const pg = await startPostgres({ durable: true });
        cleanup.push(() => pg.stop());
        const db = await pg.createDatabase('twinbox');
        delete file.database;
        file.store = { kind: 'postgres', url: db.url };
      }
      writeFileSync(config, JSON.stringify(file, null, 2));
      say(`${name}: making ${AGENTS} accounts …`);
      const accounts = store === 'bare' ? Array.from({ length: AGENTS }, (_, i) => ({ account: `bare${i}`, token: 'x'.repeat(43) })) : await provisionAccounts(config, AGENTS, { via: 'store' });
      const node = store === 'bare' ? await startBare(join(dir, 'server')) : await ServerNode.start({ config, name: 'idle' });
      cleanup.push(() => node.stop());
      // Where the machine does not allow it (a container without CAP_SYS_RESOURCE), as many agents as the node's
      // limit allows are measured and the rest is extrapolated from their memory — and said so.
      let agents = AGENTS;
      let note = null;
      try {
        execFileSync('prlimit', ['--pid', String(node.pid), `--nofile=${fdLimit}:${fdLimit}`], { stdio: 'pipe' });
      } catch {
        const limit = Number(/Max open files\s+(\d+)/.exec(readFileSync(`/proc/${node.pid}/limits`, 'utf8'))?.[1] ?? 1024);
        agents = Math.min(AGENTS, limit - 1024);
        note = `this machine lets a process have ${limit} file descriptors (and prlimit may not raise it): ${agents} agents measured, the rest extrapolated`;
        say(`  ${note}`);
      }
      // Settled before the agents come: the node's own footprint.
      await new Promise((r) => setTimeout(r, 3000));
      const before = processMemory(node.pid);
      const url = `wss://127.0.0.1:${node.port}/sync`;
      const started = Date.now();
      const share = Math.ceil(agents / GENERATORS);
      const generators = [];
      const ready = [];
      for (let g = 0; g < GENERATORS; g++) {
        const part = accounts.slice(g * share, Math.min(agents, (g + 1) * share));
        const child = spawn('prlimit', [`--nofile=${share + 1024}:${share + 1024}`, process.execPath, fileURLToPath(import.meta.url), '--generator'], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        child.send({ url, from: g, accounts: part, localAddress: `127.0.0.${g + 2}` });
        generators.push(child);
        cleanup.push(async () => child.exitCode === null && child.kill('SIGKILL'));
        ready.push(new Promise((resolve, reject) => {
          child.on('message', (m) => m.type === 'ready' && resolve(m));
          child.once('exit', (code) => reject(new Error(`generator ${g} exited (${code})`)));
        }));
      }
      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, processMemory(node.pid).rssBytes)), 500);
      const reports = await Promise.all(ready);
      const connectSeconds = (Date.now() - started) / 1000;
      const watching = reports.reduce((n, r) => n + r.watching, 0);
      say(`  ${watching} agents watching after ${connectSeconds.toFixed(1)} s; holding them ${HOLD_S} s …`);
      await new Promise((r) => setTimeout(r, HOLD_S * 1000));
      clearInterval(sampler);
      const after = processMemory(node.pid);
      peak = Math.max(peak, after.rssBytes);
      const counts = await Promise.all(
        generators.map((child) => new Promise((resolve) => {
          child.on('message', (m) => m.type === 'count' && resolve(m.open));
          child.send({ type: 'count' });
        })),
      );
      const stillOpen = counts.reduce((a, b) => a + b, 0);
      for (const child of generators) child.send({ type: 'close' });
      const perAgentKiB = watching > 0 ? (after.rssBytes - before.rssBytes) / watching / 1024 : null;
      const errors = node.log.split('\n').filter((l) => /"level":"error"/.test(l)).slice(0, 5);
      return {
        setup: name,
        agents,
        note,
        watching,
        failed: reports.reduce((n, r) => n + r.failed, 0),
        failures: Object.assign({}, ...reports.map((r) => r.failures)),
        stillOpenAfterHold: stillOpen,
        connectSeconds: Number(connectSeconds.toFixed(1)),
        rssBeforeMiB: mib(before.rssBytes),
        rssAfterMiB: mib(after.rssBytes),
        rssPeakMiB: mib(peak),
        perAgentKiB: perAgentKiB === null ? null : Number(perAgentKiB.toFixed(1)),
        // The bar's unit: how many such agents 1.5 GB of node memory holds, its own footprint included.
        agentsPer1_5GB: perAgentKiB ? Math.floor((1.5e9 - before.rssBytes) / (perAgentKiB * 1024)) : null,
        // What AGENTS of them take (measured, or extrapolated by the memory each took).
        rssForAllMiB: perAgentKiB ? mib(before.rssBytes + perAgentKiB * 1024 * AGENTS) : null,
        serverErrors: errors,
      };
    } finally {
      for (const step of cleanup.reverse()) await step().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const results = [];
  for (const name of (values.setups ?? 'sqlite:1,postgres:1').split(',')) results.push(await runSetup(name.trim()));
  say('');
  const verdicts = [];
  for (const r of results) {
    say(`${r.setup}: ${r.watching} of ${r.agents} agents watching (${r.failed} failed ${JSON.stringify(r.failures)}), ${r.stillOpenAfterHold} still open after ${HOLD_S} s; connected in ${r.connectSeconds} s`);
    say(`  node RSS ${r.rssBeforeMiB} MiB before, ${r.rssAfterMiB} MiB with them (peak ${r.rssPeakMiB} MiB): ${r.perAgentKiB} KiB per agent; ${r.agentsPer1_5GB} agents per 1.5 GB; ${AGENTS} would take ${r.rssForAllMiB} MiB`);
    if (r.note) say(`  (${r.note})`);
    for (const e of r.serverErrors) say(`  server error: ${e}`);
    const met = r.watching === r.agents && r.stillOpenAfterHold === r.agents && r.agentsPer1_5GB >= 50_000;
    r.held = r.watching === r.agents && r.stillOpenAfterHold === r.agents;
    verdicts.push(`${r.setup}: ${r.agentsPer1_5GB} idle agents per 1.5 GB, ${r.held ? 'all' : 'NOT all'} ${r.agents} held (goal 50,000 per 1.5 GB) ${met ? 'met' : 'NOT met'}`);
  }
  for (const line of verdicts) say(line);
  const output = { at: new Date().toISOString(), options: { agents: AGENTS, holdSeconds: HOLD_S, generators: GENERATORS }, results, verdicts };
  const out = values.out ?? 'bench-results/bench-idle.json';
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(output, null, 2));
  if (values.json) console.log(JSON.stringify(output));
  else say(`written to ${out}`);
}
