#!/usr/bin/env node
// npm run bench — what a sync costs, measured on the real system (private
// Dovecot, server and agent processes, TLS), side by side with mbsync (isync)
// on the same mailbox in the same run; printed and written to
// bench-results/bench.json.
//
// Options: --messages N (default 10000), --window W (default 50),
//          --rtt MS (default 50: the latency proxy's added round trip),
//          --quick (skip the slow-link and sync-now parts).
// Issue 11's table: `npm run bench -- --messages 100000 --window 500`.
//
// Every process (agent and mbsync) is measured the same way: a small Python
// wrapper times it and reads its peak RSS from getrusage(RUSAGE_CHILDREN).
// Absolute times drift on shared machines: compare the ratios.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ImapFlow } from 'imapflow';
import { AGENT_CLI, LatencyProxy, TwinboxSystem, makeMessage } from '@twinbox/testkit';

const { values } = parseArgs({
  options: { messages: { type: 'string' }, window: { type: 'string' }, rtt: { type: 'string' }, quick: { type: 'boolean' } },
});
const N = Number(values.messages ?? 10_000);
const W = Number(values.window ?? 50);
const RTT = Number(values.rtt ?? 50);
const RUNS = 5;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, digits = 0) => (x === undefined || x === null ? null : Number(x.toFixed(digits)));

const MEASURE = `
import json, resource, subprocess, sys, time
t = time.monotonic()
p = subprocess.run(sys.argv[1:], capture_output=True)
wall = (time.monotonic() - t) * 1000
sys.stdout.write(json.dumps({"code": p.returncode, "wallMs": wall, "maxRssKb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                             "stdout": p.stdout.decode("utf-8", "replace"), "stderr": p.stderr.decode("utf-8", "replace")[-4000:]}))
`;

/** Run a program to its end: wall time and peak RSS, measured alike for every tool. */
function measure(cmd, args, env = {}) {
  const out = execFileSync('python3', ['-c', MEASURE, cmd, ...args], { env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 });
  const result = JSON.parse(out.toString());
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result;
}

/** One `twinbox-agent sync` process: its wall time, peak RSS and summary. */
function agentSync(system, config = system.agentConfig) {
  const r = measure(process.execPath, [AGENT_CLI, 'sync', '--config', config, '--json'], { TWINBOX_LOG: 'warn' });
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1));
  return { wallMs: r.wallMs, maxRssKb: r.maxRssKb, sessionMs: summary.durationMs, bytes: summary.wire.bytesSent + summary.wire.bytesReceived, summary };
}

/** RUNS one-off `twinbox-agent sync` processes with nothing to do: medians, and what detection reported. */
function oneOffNoChange(system) {
  const runs = Array.from({ length: RUNS }, () => agentSync(system));
  const { detection, phaseMs } = runs.at(-1).summary;
  return { wallMs: median(runs.map((r) => r.wallMs)), sessionMs: median(runs.map((r) => r.sessionMs)), bytes: runs[0].bytes, fetched: detection.fetched, method: detection.method, phaseMs };
}

/** The background agent: its syncs run over links kept open (issue 11). */
async function startAgent(system) {
  const daemon = await system.startDaemon(['--schedule', 'off', '--no-desktop-push'], { TWINBOX_LOG: 'warn' });
  await daemon.waitFor((e) => e.event === 'sync' || e.event === 'syncFailed', 120_000);
  // Let the watch connection open, then warm the links up.
  await new Promise((r) => setTimeout(r, 1500));
  for (let i = 0; i < 2; i++) await daemonSync(daemon);
  return daemon;
}

/** Ask the running agent for a sync (over its control socket, as `twinbox-agent sync` does) and return its summary. */
async function daemonSync(daemon) {
  const answer = await daemon.requestSync();
  if (!answer.ok) throw new Error(`sync failed: ${JSON.stringify(answer.error)}`);
  const summary = answer.summary;
  return { sessionMs: summary.durationMs, bytes: summary.wire.bytesSent + summary.wire.bytesReceived, summary };
}

async function openLinkNoChange(system) {
  const daemon = await startAgent(system);
  try {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await daemonSync(daemon));
    return { sessionMs: median(runs.map((r) => r.sessionMs)), bytes: runs[0].bytes, roundTrips: runs[0].summary.wire.framesReceived, method: runs[0].summary.detection.method, phaseMs: runs.at(-1).summary.phaseMs };
  } finally {
    await daemon.stop();
  }
}

function mbsyncConfig(dir, port) {
  const config = join(dir, 'mbsyncrc');
  writeFileSync(
    config,
    `IMAPAccount bench
Host 127.0.0.1
Port ${port}
User user1
Pass secret1
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path ${dir}/mail/
Inbox ${dir}/mail/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
MaxMessages ${W}
ExpireUnread yes
Sync Pull
Create Near
Expunge None
SyncState *
`,
  );
  mkdirSync(join(dir, 'mail'), { recursive: true });
  return config;
}

const results = { date: new Date().toISOString(), messages: N, window: W, rttMs: RTT, runs: RUNS, table: [] };
const row = (measure, twinbox, unit, mbsync, goal) => {
  const entry = { measure, unit, twinbox: round(twinbox, 1), mbsync: round(mbsync, 1), ratio: mbsync ? round(twinbox / mbsync, 2) : null, goal };
  results.table.push(entry);
  console.log(`  ${measure}: Twinbox ${entry.twinbox} ${unit}${mbsync !== undefined ? `, mbsync ${entry.mbsync} ${unit}, ratio ${entry.ratio}` : ''} (goal: ${goal})`);
};

const system = await TwinboxSystem.start({ window: W });
const work = mkdtempSync(join(tmpdir(), 'twinbox-bench-'));
let proxy;
try {
  // The INBOX, written as Maildir files (one a minute, 2 KB each, half read), then indexed once by Dovecot.
  let t = Date.now();
  const base = Date.now() - N * 60_000;
  const CHUNK = 10_000;
  for (let from = 0; from < N; from += CHUNK) {
    const messages = [];
    for (let i = from; i < Math.min(N, from + CHUNK); i++) {
      const date = new Date(Math.floor((base + i * 60_000) / 1000) * 1000);
      messages.push({ raw: makeMessage({ label: `M${i}`, date, size: 2000 }), date, seen: i % 2 === 1 });
    }
    system.dovecot.writeMaildir('user1', 'INBOX', messages);
  }
  results.fillMs = Date.now() - t;
  t = Date.now();
  const indexer = new ImapFlow({ host: '127.0.0.1', port: system.dovecot.imapPort, secure: false, auth: { user: 'user1', pass: 'secret1' }, logger: false });
  await indexer.connect();
  const box = await indexer.mailboxOpen('INBOX');
  await indexer.logout();
  results.indexMs = Date.now() - t;
  console.log(`INBOX of ${box.exists} messages written in ${results.fillMs} ms, indexed by Dovecot in ${results.indexMs} ms; window ${W}`);

  // mbsync 1.4, MaxMessages W: the newest W, like the phone window.
  const mbsyncRc = mbsyncConfig(work, system.dovecot.imapPort);
  const mbsync = () => measure('mbsync', ['-c', mbsyncRc, '-q', 'bench']);
  const mbInitial = mbsync();
  const mbQuiet = Array.from({ length: RUNS }, mbsync);
  const mb = { initialMs: mbInitial.wallMs, initialRssKb: mbInitial.maxRssKb, noChangeMs: median(mbQuiet.map((r) => r.wallMs)) };
  results.mbsync = mb;

  // Twinbox: the initial sync (pull the newest W) on the mailbox as written: Dovecot has no arrival time
  // cached yet and reads every file's for the first SEARCH SINCE (mbsync needs none: it keeps the highest UIDs).
  const cold = agentSync(system);
  results.initialCold = { phaseMs: cold.summary.phaseMs, wallMs: cold.wallMs, maxRssKb: cold.maxRssKb };
  // The usual case: the desktop's mail client has listed the INBOX (every client asks for arrival times), so
  // Dovecot has them cached. A second account of the same server, paired with the same mailbox, starts from nothing.
  const client = new ImapFlow({ host: '127.0.0.1', port: system.dovecot.imapPort, secure: false, auth: { user: 'user1', pass: 'secret1' }, logger: false });
  await client.connect();
  await client.mailboxOpen('INBOX');
  for await (const _ of client.fetch('1:*', { uid: true, internalDate: true })) void _;
  await client.logout();
  const second = await system.pairAnotherAgent(await system.addAccount('bench2', W), 'bench2');
  const initial = agentSync(system, second);
  results.initial = { phaseMs: initial.summary.phaseMs, wallMs: initial.wallMs, sessionMs: initial.sessionMs, maxRssKb: initial.maxRssKb, bytes: initial.bytes, tracked: initial.summary.tracked, pulled: initial.summary.pulled };
  results.noChangeQresync = oneOffNoChange(system);
  // The background agent, on its open links: QRESYNC, then with CONDSTORE/QRESYNC off (the comparison path).
  results.openNoChangeQresync = await openLinkNoChange(system);
  system.editAgentConfig((c) => (c.imap.qresync = false));
  results.noChangeCompare = oneOffNoChange(system);
  results.openNoChangeCompare = await openLinkNoChange(system);
  system.editAgentConfig((c) => delete c.imap.qresync);
  agentSync(system);

  console.log(`\n${N} messages, window ${W}:`);
  row('initial sync (pull the newest W), process', initial.wallMs, 'ms', mb.initialMs, '≤ 2× mbsync');
  row('  the same, Dovecot with no arrival time cached', results.initialCold.wallMs, 'ms', mb.initialMs, '');
  row('agent peak RSS in the initial sync', Math.max(initial.maxRssKb, results.initialCold.maxRssKb) / 1024, 'MiB', mb.initialRssKb / 1024, '≤ 150 MiB');
  row('no-change sync, no QRESYNC/CONDSTORE, background agent (open links)', results.openNoChangeCompare.sessionMs, 'ms', mb.noChangeMs, '≤ 3× mbsync');
  row('  the same as a one-off process (twinbox-agent sync)', results.noChangeCompare.wallMs, 'ms', mb.noChangeMs, '');
  row('no-change sync, QRESYNC, background agent (open links)', results.openNoChangeQresync.sessionMs, 'ms', undefined, '≤ 30 ms');
  row('  bytes on the sync link', results.openNoChangeQresync.bytes, 'B', undefined, '≤ 2 KB');
  row('  the same as a one-off process (twinbox-agent sync)', results.noChangeQresync.wallMs, 'ms', mb.noChangeMs, '');
  console.log(`  (phases, ms: initial ${JSON.stringify(results.initial.phaseMs)}; open links, QRESYNC ${JSON.stringify(results.openNoChangeQresync.phaseMs)}; open links, comparison ${JSON.stringify(results.openNoChangeCompare.phaseMs)})`);
  console.log(`  (detection: ${results.noChangeQresync.method} reported ${results.noChangeQresync.fetched} messages; comparison path ${results.noChangeCompare.fetched}; tracked ${initial.summary.tracked} of ${N})`);

  if (!values.quick) {
    // The sync link through a proxy that adds RTT ms to every round trip.
    const url = new URL(system.serverUrl);
    proxy = await LatencyProxy.start({ host: url.hostname, port: Number(url.port) }, RTT);
    system.editAgentConfig((c) => (c.server.url = `wss://127.0.0.1:${proxy.port}/sync`));
    const daemon = await startAgent(system);
    try {
      const slowQuiet = [];
      for (let i = 0; i < RUNS; i++) slowQuiet.push(await daemonSync(daemon));
      results.slowNoChange = { sessionMs: median(slowQuiet.map((r) => r.sessionMs)), bytes: slowQuiet[0].bytes };

      // Desktop changes: \Flagged on, and \Seen toggled, on the newest min(W, 500) messages.
      const n = Math.min(W, 500);
      const desk = new ImapFlow({ host: '127.0.0.1', port: system.dovecot.imapPort, secure: false, auth: { user: 'user1', pass: 'secret1' }, logger: false });
      await desk.connect();
      const opened = await desk.mailboxOpen('INBOX');
      const range = `${opened.exists - n + 1}:*`;
      const seen = await desk.search({ seen: true, seq: range });
      const unseen = await desk.search({ seen: false, seq: range });
      await desk.messageFlagsAdd(range, ['\\Flagged']);
      if (seen.length) await desk.messageFlagsRemove(seen.join(','), ['\\Seen']);
      if (unseen.length) await desk.messageFlagsAdd(unseen.join(','), ['\\Seen']);
      await desk.logout();
      const desktopChanges = await daemonSync(daemon);
      results.slowDesktopChanges = { actions: desktopChanges.summary.agentActions, sessionMs: desktopChanges.sessionMs, bytes: desktopChanges.bytes, phaseMs: desktopChanges.summary.phaseMs };

      // Phone changes: read toggled and flag removed on the same messages (the server pushes a request; the sync is asked for too).
      const phone = system.phone();
      for (const m of (await phone.inbox()).slice(0, n)) {
        if (m.seen) await phone.markUnread(m.id);
        else await phone.markRead(m.id);
        if (m.flagged) await phone.unflag(m.id);
      }
      await system.closeStore();
      let phoneChanges = await daemonSync(daemon);
      while (phoneChanges.summary.serverActions === 0) phoneChanges = await daemonSync(daemon);
      results.slowPhoneChanges = { actions: phoneChanges.summary.serverActions, sessionMs: phoneChanges.sessionMs, bytes: phoneChanges.bytes, phaseMs: phoneChanges.summary.phaseMs };

      // The IMAP server's own share of it: as many flag changes of the same kinds on the same messages (read state
      // toggled, \Flagged changed), sent directly as the agent sends them — one UID STORE .SILENT per flag and
      // value — and timed alone. On Maildir each change renames a file among N, and after a command that renamed
      // files Dovecot reads the whole cur/ directory again: this part grows with the mailbox.
      const direct = new ImapFlow({ host: '127.0.0.1', port: system.dovecot.imapPort, secure: false, auth: { user: 'user1', pass: 'secret1' }, logger: false });
      await direct.connect();
      const box = await direct.mailboxOpen('INBOX');
      const top = `${box.exists - n + 1}:*`;
      const nowSeen = await direct.search({ seen: true, seq: top }, { uid: true });
      const nowUnseen = await direct.search({ seen: false, seq: top }, { uid: true });
      const allTop = [...nowSeen, ...nowUnseen];
      const t0 = performance.now();
      if (nowSeen.length) await direct.messageFlagsRemove(nowSeen.join(','), ['\\Seen'], { uid: true, silent: true });
      if (nowUnseen.length) await direct.messageFlagsAdd(nowUnseen.join(','), ['\\Seen'], { uid: true, silent: true });
      await direct.messageFlagsAdd(allTop.join(','), ['\\Flagged'], { uid: true, silent: true });
      const imapMs = performance.now() - t0;
      await direct.logout();
      results.slowPhoneChanges.imapAloneMs = Math.round(imapMs);
      results.slowPhoneChanges.imapAloneChanges = nowSeen.length + nowUnseen.length + allTop.length;
    } finally {
      await daemon.stop();
    }

    console.log(`\nover a link with ${RTT} ms RTT (latency proxy):`);
    row(`${results.slowDesktopChanges.actions} desktop changes, background agent`, results.slowDesktopChanges.sessionMs, 'ms', undefined, '≤ 1 s for 1,000');
    row(`${results.slowPhoneChanges.actions} phone changes, background agent`, results.slowPhoneChanges.sessionMs, 'ms', undefined, '≤ 1 s for 1,000');
    row(`  of it, the IMAP server applying ${results.slowPhoneChanges.imapAloneChanges} such flag changes (sent directly, alone)`, results.slowPhoneChanges.imapAloneMs, 'ms', undefined, '');
    row('no-change sync on the open link', results.slowNoChange.sessionMs, 'ms', undefined, `≤ 1 RTT + 20 ms = ${RTT + 20} ms`);
    console.log(`  (phases, ms: desktop changes ${JSON.stringify(results.slowDesktopChanges.phaseMs)}; phone changes ${JSON.stringify(results.slowPhoneChanges.phaseMs)})`);
  }
} finally {
  await proxy?.stop();
  await system.stop();
  rmSync(work, { recursive: true, force: true });
}

// "Sync now" on the phone to sync complete on the desktop agent, both paths, median of 10 each.
if (!values.quick) {
  const sys = await TwinboxSystem.start({ window: W });
  try {
    await sys.desktop.deliver({ label: 'D1' });
    // The server sends a trigger e-mail at most once a minute per account by default: once a second here.
    sys.editServerConfig((c) => (c.phone = { ...c.phone, syncNowEmailIntervalSeconds: 1 }));
    await sys.stopServer();
    await sys.startServer();
    const token = await sys.addDevice();
    const syncNow = async (daemon, via, n) => {
      const times = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const next = daemon.nextSync(15_000);
        await sys.api('POST', '/api/v1/sync-now', token, { via });
        await next;
        times.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, via === 'email' ? 1100 : 200));
      }
      return { medianMs: Math.round(median(times)), maxMs: Math.round(Math.max(...times)), runs: n };
    };
    const live = await sys.startDaemon(['--schedule', 'off']);
    await live.waitFor((e) => e.event === 'sync', 20_000);
    while (!(await sys.api('GET', '/api/v1/status', token)).json.agentConnected) await new Promise((r) => setTimeout(r, 50));
    results.syncNowLive = await syncNow(live, 'auto', 10);
    results.syncNowEmail = await syncNow(live, 'email', 10);
    console.log(`\nsync now → sync complete: live connection median ${results.syncNowLive.medianMs} ms (max ${results.syncNowLive.maxMs}); e-mail trigger median ${results.syncNowEmail.medianMs} ms (max ${results.syncNowEmail.maxMs})`);
  } finally {
    await sys.stop();
  }
}

mkdirSync('bench-results', { recursive: true });
const file = 'bench-results/bench.json';
const previous = (() => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
})();
// One file, a run per mailbox size: how the cost grows with N.
const byMailbox = { ...(previous.byMailbox ?? {}), [`${N}x${W}`]: results };
writeFileSync(file, `${JSON.stringify({ latest: results, byMailbox }, null, 2)}\n`);
console.log(`wrote ${file}`);
