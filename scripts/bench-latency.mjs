#!/usr/bin/env node
// npm run bench -- --latency — how fast a change on one side shows on the
// other, on the real system: a private Dovecot, the server and
// `twinbox-agent run` as their own processes, the testkit's Web Push service
// on loopback. The agent runs with its default settings (IDLE, NOTIFY,
// imap.pollSeconds 20, keepalive 60 s) except the schedule, which is off so
// that only push is measured. Each round, timed from the moment the change is
// made:
//
//   desktop mail → phone API       LMTP delivery until GET /api/v1/folders/inbox lists it
//   desktop mail → event stream    …until a `mailbox` event of GET /api/v1/events after which the list has it
//   desktop mail → push received   …until the push service receives the Web Push
//   push after the phone Inbox     the push's arrival less the message's storage time (messages.folder_since)
//   desktop flag → phone           UID STORE +FLAGS \Flagged (or -) until the phone list shows it
//   desktop trash → phone          UID MOVE to Trash until the phone's Trash lists it
//   phone change → desktop         POST /api/v1/messages/{id}/read (or unread) until IMAP FETCH FLAGS shows it
//
// Changes are 2 s apart (their syncs and any follow-up done); where the agent
// polls (no IDLE), a random part of pollSeconds more, so that changes fall
// anywhere in the poll's period, as real ones do. p50/p95 are
// printed and written to bench-results/latency.json, per IMAP server profile:
// `full` (Dovecot: IDLE, NOTIFY, CONDSTORE, QRESYNC) and `bare` (IMAP4rev1
// only: no IDLE, so the agent polls every imap.pollSeconds).
//
// Options: --rounds N (default 20), --profiles full,bare, --poll-seconds S
// (default: the agent's own, 20), --window W (default 10).
import { request } from 'node:https';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { IMAP_PROFILES, TestPushService, TwinboxSystem, makeMessage } from '@twinbox/testkit';

const { values } = parseArgs({
  options: { rounds: { type: 'string' }, profiles: { type: 'string' }, 'poll-seconds': { type: 'string' }, window: { type: 'string' } },
});
const ROUNDS = Number(values.rounds ?? 20);
const PROFILES = (values.profiles ?? 'full,bare').split(',');
const W = Number(values.window ?? 10);
const POLL = values['poll-seconds'] === undefined ? undefined : Number(values['poll-seconds']);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const percentile = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const stats = (xs) => ({ n: xs.length, p50: Math.round(percentile(xs, 50)), p95: Math.round(percentile(xs, 95)), max: Math.round(Math.max(...xs)) });

/** Poll `ready` every `everyMs` until it holds; the time it took (ms), or an error after `timeoutMs`. */
async function until(what, ready, timeoutMs, everyMs = 20) {
  const t0 = performance.now();
  for (;;) {
    if (await ready()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** The phone's event stream (server-sent events), with each event's arrival time; opened again if cut, as a browser's EventSource is. */
function openEvents(system, token) {
  const events = [];
  let req;
  let closed = false;
  const again = (why) => {
    if (closed) return;
    closed = true;
    console.log(`  (event stream ${why}; opened again)`);
    setTimeout(open, 100);
  };
  const open = () => {
    closed = false;
    req = request({ host: '127.0.0.1', port: system.port, path: '/api/v1/events', rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let buffer = '';
      res.on('data', (chunk) => {
        const at = performance.now();
        buffer += chunk.toString();
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          if (name) events.push({ name, at });
        }
      });
      res.on('error', (err) => again(`cut: ${err.message}`));
      res.on('end', () => again('ended'));
    });
    req.on('error', (err) => again(`failed: ${err.message}`));
    req.end();
  };
  open();
  return {
    events,
    /** The index of the first event named `name` at or after index `from` (its time is when it arrived, not when this looked). */
    next: async (name, from, timeoutMs) => {
      let i = -1;
      await until(`a ${name} event`, () => (i = events.findIndex((e, k) => k >= from && e.name === name)) >= 0, timeoutMs, 5);
      return i;
    },
    close: () => {
      closed = true;
      req.destroy();
    },
  };
}

async function measure(profileName) {
  const profile = IMAP_PROFILES[profileName];
  const system = await TwinboxSystem.start({ window: W, profile });
  const push = await TestPushService.start();
  const desk = new ImapFlow({ host: '127.0.0.1', port: system.dovecot.imapPort, secure: false, auth: { user: 'user1', pass: 'secret1' }, logger: false });
  const lmtp = nodemailer.createTransport({ host: '127.0.0.1', port: system.dovecot.lmtpPort, lmtp: true, secure: false, ignoreTLS: true, pool: true, maxConnections: 1 });
  let daemon;
  let stream;
  try {
    for (let i = 0; i < W + 5; i++) await system.desktop.deliver({ label: `S${i}`, date: new Date(Date.now() - (W + 5 - i) * 60_000) });
    // The agent's own defaults: the testkit polls every 2 s for its tests; here the default (or --poll-seconds).
    system.editAgentConfig((c) => {
      if (POLL === undefined) delete c.imap.pollSeconds;
      else c.imap.pollSeconds = POLL;
    });
    await system.usePushService(push);
    const token = await system.addDevice();
    const sub = await system.subscribePush(push, token, 'count');
    daemon = await system.startDaemon(['--schedule', 'off'], { TWINBOX_LOG: 'warn' });
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'startup', 60_000);
    await until('the agent connected', async () => (await system.api('GET', '/api/v1/status', token)).json?.agentConnected === true, 10_000, 50);
    stream = openEvents(system, token);
    await desk.connect();
    await desk.mailboxOpen('INBOX');
    await sleep(2000);

    const api = async (folder) => (await system.api('GET', `/api/v1/folders/${folder}`, token)).json?.messages ?? [];
    const subjectOf = (m) => String(m.subject ?? '');
    // A NOOP first: this session sees what arrived since it last looked only after one (RFC 3501 §6.1.2).
    const uidOf = async (label) => {
      await desk.noop();
      const uids = await desk.search({ header: { 'x-scenario-label': label } }, { uid: true });
      if (!uids || uids.length !== 1) throw new Error(`${label}: ${JSON.stringify(uids)} on the desktop`);
      return uids[0];
    };
    const rows = { mailToApi: [], mailToEvent: [], mailToPush: [], pushAfterStored: [], flagToPhone: [], trashToPhone: [], phoneToDesktop: [] };
    const syncsBefore = daemon.syncs.length;
    const pollMs = (POLL ?? 20) * 1000;
    const limit = profileName === 'bare' ? pollMs + 10_000 : 10_000;
    // Between changes: their syncs done; where the agent polls, also a random point of its period.
    const pause = () => sleep(2000 + (profileName === 'bare' ? Math.random() * pollMs : 0));
    for (let round = 1; round <= ROUNDS; round++) {
      // 1. New mail on the desktop: until the phone API lists it, the event stream says so, and the push arrives.
      const label = `L${round}`;
      const pushesBefore = push.pushesFor(sub.id).length;
      const eventsFrom = stream.events.length;
      const t0 = performance.now();
      const sentAt = Date.now();
      await lmtp.sendMail({ envelope: { from: 'someone@example.test', to: ['user1@example.test'] }, raw: makeMessage({ label }) });
      const listed = until('new mail in the phone list', async () => (await api('inbox')).some((m) => subjectOf(m) === label), limit);
      const announced = (async () => {
        // The first `mailbox` event after which the list has it (what the web app does: read the folders again).
        for (let from = eventsFrom; ; ) {
          const i = await stream.next('mailbox', from, limit);
          const at = stream.events[i].at;
          if ((await api('inbox')).some((m) => subjectOf(m) === label)) return at - t0;
          from = i + 1;
        }
      })();
      const pushed = push.waitFor(sub.id, pushesBefore + 1, limit).then((all) => all[pushesBefore]);
      await listed;
      rows.mailToApi.push(performance.now() - t0);
      rows.mailToEvent.push(await announced);
      const p = await pushed;
      rows.mailToPush.push(p.at - sentAt);
      await system.openStore();
      const stored = (await system.store.engine.get("SELECT folder_since AS at FROM messages WHERE account_id = 'user1' AND folder = 'inbox' ORDER BY folder_since DESC LIMIT 1")).at;
      rows.pushAfterStored.push(p.at - stored);
      await system.closeStore();
      await pause();

      // 2. A desktop flag change: this round's message flagged.
      const flagUid = await uidOf(label);
      const t1 = performance.now();
      await desk.messageFlagsAdd(String(flagUid), ['\\Flagged'], { uid: true });
      await until('the flag on the phone', async () => (await api('inbox')).find((m) => subjectOf(m) === label)?.flagged === true, limit);
      rows.flagToPhone.push(performance.now() - t1);
      await pause();

      // 3. A desktop trash (the message before this round's, so the window stays full).
      const victim = round === 1 ? `S${W + 4}` : `L${round - 1}`;
      const victimUid = await uidOf(victim);
      const t2 = performance.now();
      await desk.messageMove(String(victimUid), profile.trash, { uid: true });
      await until('the trash on the phone', async () => (await api('trash')).some((m) => subjectOf(m) === victim), limit);
      rows.trashToPhone.push(performance.now() - t2);
      await pause();

      // 4. A phone change (read / unread) until the desktop IMAP shows it.
      const target = (await api('inbox')).find((m) => subjectOf(m) === label);
      const read = !target.seen;
      const targetUid = await uidOf(label);
      const t3 = performance.now();
      await system.api('POST', `/api/v1/messages/${target.id}/${read ? 'read' : 'unread'}`, token);
      await until(
        'the phone change on the desktop',
        async () => {
          await desk.noop();
          const m = await desk.fetchOne(String(targetUid), { flags: true }, { uid: true });
          return (m?.flags?.has('\\Seen') ?? false) === read;
        },
        10_000,
        5,
      );
      rows.phoneToDesktop.push(performance.now() - t3);
      await pause();
      process.stdout.write(`  ${profileName} round ${round}/${ROUNDS}: mail→API ${rows.mailToApi.at(-1).toFixed(0)} ms, →event ${rows.mailToEvent.at(-1).toFixed(0)}, →push ${rows.mailToPush.at(-1).toFixed(0)}; flag ${rows.flagToPhone.at(-1).toFixed(0)}; trash ${rows.trashToPhone.at(-1).toFixed(0)}; phone→desktop ${rows.phoneToDesktop.at(-1).toFixed(0)}\n`);
    }
    const syncs = daemon.syncs.slice(syncsBefore);
    const result = Object.fromEntries(Object.entries(rows).map(([k, xs]) => [k, stats(xs)]));
    // What the rounds cost the agent: syncs by what asked for them (each round makes four changes).
    const reasons = {};
    for (const e of syncs) for (const r of new Set(e.reasons)) reasons[r] = (reasons[r] ?? 0) + 1;
    // A sync asked for by the desktop alone that found and applied nothing: a follow-up for the agent's own changes.
    const quiet = syncs.filter((e) => e.reasons.every((r) => r === 'desktop') && e.summary.agentActions === 0 && e.summary.serverActions === 0).length;
    result.syncs = { total: syncs.length, changes: ROUNDS * 4, byReason: reasons, quietFollowUps: quiet };
    // A quiet period afterwards: no sync at all.
    const quietFrom = daemon.events.length;
    await sleep(profileName === 'bare' ? pollMs * 2 + 2000 : 10_000);
    result.quietPeriod = { seconds: profileName === 'bare' ? (pollMs * 2 + 2000) / 1000 : 10, syncs: daemon.events.slice(quietFrom).filter((e) => e.event === 'sync').length };
    result.pollSeconds = POLL ?? 20;
    return result;
  } finally {
    stream?.close();
    lmtp.close();
    await desk.logout().catch(() => undefined);
    await system.stop();
    await push.close();
  }
}

const results = { date: new Date().toISOString(), rounds: ROUNDS, window: W, profiles: {} };
const GOALS = {
  mailToApi: (poll) => (poll ? `≤ ${poll + 2} s` : '≤ 2 s'),
  mailToEvent: (poll) => (poll ? `≤ ${poll + 2} s` : '≤ 2 s'),
  mailToPush: (poll) => (poll ? `≤ ${poll + 2} s` : '≤ 2 s'),
  pushAfterStored: () => '≤ 1 s',
  flagToPhone: (poll) => (poll ? `≤ ${poll + 2} s` : '≤ 2 s'),
  trashToPhone: (poll) => (poll ? `≤ ${poll + 2} s` : '≤ 2 s'),
  phoneToDesktop: () => '≤ 1 s',
};
const NAMES = {
  mailToApi: 'desktop mail (LMTP) → phone API lists it',
  mailToEvent: 'desktop mail → event stream says so',
  mailToPush: 'desktop mail → push received',
  pushAfterStored: 'push received after the phone Inbox changed',
  flagToPhone: 'desktop flag change → phone shows it',
  trashToPhone: 'desktop trash → phone shows it',
  phoneToDesktop: 'phone change → desktop IMAP shows it',
};
for (const name of PROFILES) {
  console.log(`\n${name}: ${ROUNDS} rounds, window ${W}, twinbox-agent run --schedule off (IDLE/NOTIFY/poll as the server allows; pollSeconds ${POLL ?? 'default 20'})`);
  const r = await measure(name);
  results.profiles[name] = r;
  const poll = name === 'bare' ? r.pollSeconds : undefined;
  console.log(`\n${name} (p50 / p95 / max, ms; goal on p95):`);
  for (const [key, label] of Object.entries(NAMES)) console.log(`  ${label}: ${r[key].p50} / ${r[key].p95} / ${r[key].max}  (goal ${GOALS[key](poll)})`);
  console.log(`  syncs for ${r.syncs.changes} changes: ${r.syncs.total} ${JSON.stringify(r.syncs.byReason)}, of them ${r.syncs.quietFollowUps} quiet follow-ups; in a quiet ${r.quietPeriod.seconds} s afterwards: ${r.quietPeriod.syncs}`);
}

mkdirSync('bench-results', { recursive: true });
const file = 'bench-results/latency.json';
const previous = (() => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
})();
writeFileSync(file, `${JSON.stringify({ ...previous, latest: results, profiles: { ...(previous.profiles ?? {}), ...results.profiles } }, null, 2)}\n`);
console.log(`wrote ${file}`);
