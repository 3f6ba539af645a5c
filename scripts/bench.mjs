#!/usr/bin/env node
// npm run bench — what a sync costs, measured on the real system (private
// Dovecot, server and agent processes, TLS), printed and written to
// bench-results/bench.json. Options: --messages N (default 10000), --window W (50).
//
// Figures: the initial sync of an N-message INBOX; a sync with no changes
// (the common case, run every 5 minutes: it must not depend on N); a sync with
// 100 desktop flag changes and 20 new phone messages. For each: wall time of
// the agent process, time inside the session, frames, round trips, bytes on
// the wire, and the agent's peak RSS.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ImapFlow } from 'imapflow';
import { TwinboxSystem, makeMessage } from '@twinbox/testkit';

const { values } = parseArgs({ options: { messages: { type: 'string' }, window: { type: 'string' } } });
const N = Number(values.messages ?? 10_000);
const W = Number(values.window ?? 50);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timedSync(system) {
  const t = process.hrtime.bigint();
  const summary = await system.sync();
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  return {
    wallMs: Math.round(wallMs),
    sessionMs: summary.durationMs,
    frames: summary.wire.framesSent + summary.wire.framesReceived,
    bytes: summary.wire.bytesSent + summary.wire.bytesReceived,
    maxRssKb: summary.maxRssKb,
    summary,
  };
}

const system = await TwinboxSystem.start({ window: W });
const results = { date: new Date().toISOString(), messages: N, window: W };
try {
  // Fill the desktop INBOX over IMAP (APPEND, a dated message each).
  const filler = new ImapFlow({ host: '127.0.0.1', port: system.dovecot.imapPort, secure: false, auth: { user: 'user1', pass: 'secret1' }, logger: false });
  await filler.connect();
  const t0 = Date.now();
  const base = Date.UTC(2020, 0, 1);
  for (let i = 0; i < N; i++) {
    const date = new Date(base + i * 60_000);
    await filler.append('INBOX', makeMessage({ label: `M${i}`, date, size: 2000 }), i % 2 ? ['\\Seen'] : [], date);
  }
  await filler.logout();
  results.fillMs = Date.now() - t0;
  console.log(`filled INBOX with ${N} messages in ${results.fillMs} ms`);

  const initial = await timedSync(system);
  results.initial = { ...initial, summary: undefined };
  console.log(`initial sync of ${N}: ${initial.wallMs} ms wall (${initial.sessionMs} ms in session), ${initial.frames} frames, ${initial.bytes} bytes, agent peak RSS ${initial.maxRssKb} KiB`);

  const idle = [];
  for (let i = 0; i < 5; i++) idle.push(await timedSync(system));
  results.noChange = {
    runs: idle.length,
    wallMsMedian: median(idle.map((r) => r.wallMs)),
    sessionMsMedian: median(idle.map((r) => r.sessionMs)),
    frames: idle[0].frames,
    // Every frame the agent receives in a no-change sync answers one of its requests.
    roundTrips: idle[0].summary.wire.framesReceived,
    bytes: idle[0].bytes,
    maxRssKb: Math.max(...idle.map((r) => r.maxRssKb)),
  };
  console.log(
    `no-change sync (${N} messages, median of ${idle.length}): ${results.noChange.wallMsMedian} ms wall, ${results.noChange.sessionMsMedian} ms in session, ` +
      `${results.noChange.frames} frames (${results.noChange.roundTrips} round trips), ${results.noChange.bytes} bytes, agent peak RSS ${results.noChange.maxRssKb} KiB`,
  );

  // 100 desktop flag changes among the newest messages, 20 new phone messages.
  const client = new ImapFlow({ host: '127.0.0.1', port: system.dovecot.imapPort, secure: false, auth: { user: 'user1', pass: 'secret1' }, logger: false });
  await client.connect();
  await client.mailboxOpen('INBOX');
  await client.messageFlagsAdd(`${N - 99}:${N}`, ['\\Flagged']);
  await client.logout();
  for (let i = 0; i < 20; i++) system.phoneDeliver({ label: `P${i}`, date: new Date(base + (N + i) * 60_000) });
  const busy = await timedSync(system);
  results.changes = { desktopFlagChanges: 100, phoneInserts: 20, ...busy, summary: undefined, agentActions: busy.summary.agentActions, serverActions: busy.summary.serverActions };
  console.log(`sync with 100 desktop flag changes + 20 phone messages: ${busy.wallMs} ms wall (${busy.sessionMs} ms in session), ${busy.summary.agentActions} actions sent, ${busy.summary.serverActions} applied, ${busy.frames} frames, ${busy.bytes} bytes`);
} finally {
  await system.stop();
}
// "Sync now" on the phone to sync complete on the desktop agent, both paths, median of 10 each.
{
  const sys = await TwinboxSystem.start({ window: W });
  try {
    await sys.desktop.deliver({ label: 'D1' });
    const token = await sys.addDevice();
    const measure = async (daemon, via, n) => {
      const times = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const next = daemon.nextSync(15_000);
        await sys.api('POST', '/api/v1/sync-now', token, { via });
        await next;
        times.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 200));
      }
      return { medianMs: Math.round(median(times)), maxMs: Math.round(Math.max(...times)), runs: n };
    };
    const live = await sys.startDaemon(['--schedule', 'off']);
    await live.waitFor((e) => e.event === 'sync', 20_000);
    while (!(await sys.api('GET', '/api/v1/status', token)).json.agentConnected) await new Promise((r) => setTimeout(r, 50));
    results.syncNowLive = await measure(live, 'auto', 10);
    results.syncNowEmail = await measure(live, 'email', 10);
    console.log(`sync now → sync complete: live connection median ${results.syncNowLive.medianMs} ms (max ${results.syncNowLive.maxMs}); e-mail trigger median ${results.syncNowEmail.medianMs} ms (max ${results.syncNowEmail.maxMs})`);
  } finally {
    await sys.stop();
  }
}

mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/bench.json', `${JSON.stringify(results, null, 2)}\n`);
console.log('wrote bench-results/bench.json');
