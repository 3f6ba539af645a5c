#!/usr/bin/env node
// What the desktop IMAP server itself takes for the slow-link bench's phone changes (README
// "Performance"): the agent's three `UID STORE .SILENT` commands (read on, flag off, read off) on the
// newest 500 of N Maildir messages in the testkit's Dovecot, sent raw on one connection — one after
// the other, as imapflow sends them (one command in flight), and pipelined (sent together), in turn.
//
//   node scripts/imap-store-cost.mjs [--messages N (default 100000)] [--rounds R (default 6)] [--qresync] [--very-dirty-syncs] [--watcher idle|notify|selected]
//
// --watcher keeps a second connection on INBOX meanwhile: in IDLE (as the background agent's desktop
// watcher between syncs: Dovecot's process for it hears every change and syncs the mailbox too), with
// NOTIFY SET and no IDLE, or merely selected (as the watcher is held while a sync runs).
//
// --very-dirty-syncs runs Dovecot with `maildir_very_dirty_syncs = yes` (its advice where only Dovecot
// touches the Maildir): it then reads cur/ again only when something else changed it.
import net from 'node:net';
import { parseArgs } from 'node:util';
import { makeMessage, startDovecot } from '@twinbox/testkit';

const { values } = parseArgs({ options: { messages: { type: 'string' }, rounds: { type: 'string' }, qresync: { type: 'boolean' }, 'very-dirty-syncs': { type: 'boolean' }, watcher: { type: 'string' } } });
const N = Number(values.messages ?? 100_000);
const ROUNDS = Number(values.rounds ?? 6);
const n = 500;

const dovecot = await startDovecot(undefined, undefined, values['very-dirty-syncs'] ? { extraConfig: 'maildir_very_dirty_syncs = yes' } : {});
try {
  const base = Date.now() - N * 60_000;
  for (let from = 0; from < N; from += 10_000) {
    const messages = [];
    for (let i = from; i < Math.min(N, from + 10_000); i++) {
      const date = new Date(Math.floor((base + i * 60_000) / 1000) * 1000);
      messages.push({ raw: makeMessage({ label: `M${i}`, date, size: 2000 }), date, seen: i % 2 === 1 });
    }
    dovecot.writeMaildir('user1', 'INBOX', messages);
  }

  const socket = net.connect(dovecot.imapPort, '127.0.0.1');
  let buffer = '';
  let waiting;
  socket.on('data', (data) => {
    buffer += data.toString('latin1');
    if (waiting && (buffer.startsWith(`${waiting.tag} `) || buffer.includes(`\r\n${waiting.tag} `))) {
      const { resolve, tag } = waiting;
      waiting = undefined;
      const line = buffer.slice(buffer.lastIndexOf(`${tag} `));
      buffer = '';
      resolve(line);
    }
  });
  let counter = 0;
  /** Send these commands together; resolves with the last one's tagged answer. */
  const send = (commands) =>
    new Promise((resolve, reject) => {
      const tags = commands.map(() => `t${++counter}`);
      waiting = { tag: tags.at(-1), resolve: (line) => (/^t\d+ OK/.test(line) ? resolve(line) : reject(new Error(line))) };
      socket.write(commands.map((c, i) => `${tags[i]} ${c}\r\n`).join(''));
    });
  await new Promise((resolve) => socket.once('data', resolve));
  buffer = '';
  await send(['LOGIN user1 secret1']);
  if (values.qresync) await send(['ENABLE QRESYNC']);
  await send(['SELECT INBOX']);

  let watcher;
  if (values.watcher) {
    watcher = net.connect(dovecot.imapPort, '127.0.0.1');
    let seen = '';
    const reached = (text) => new Promise((resolve) => { const check = () => (seen.includes(text) ? resolve() : setTimeout(check, 5)); check(); });
    watcher.on('data', (data) => (seen = (seen + data.toString('latin1')).slice(-4096)));
    watcher.write('w1 LOGIN user1 secret1\r\nw2 SELECT INBOX\r\n');
    await reached('w2 OK');
    if (values.watcher === 'idle') watcher.write('w3 IDLE\r\n');
    if (values.watcher === 'notify') watcher.write('w3 NOTIFY SET (SELECTED (MessageNew MessageExpunge FlagChange))\r\n');
    if (values.watcher !== 'selected') await reached(values.watcher === 'idle' ? '+ idling' : 'w3 OK');
  }

  const uids = Array.from({ length: n }, (_, i) => N - n + 1 + i);
  const even = uids.filter((u) => u % 2 === 0).join(',');
  const odd = uids.filter((u) => u % 2 === 1).join(',');
  const all = `${N - n + 1}:${N}`;
  const results = { sequential: [], pipelined: [] };
  for (let r = 0; r < ROUNDS * 2; r++) {
    const commands = [
      `UID STORE ${r % 2 ? even : odd} +FLAGS.SILENT (\\Seen)`,
      `UID STORE ${all} ${r % 2 ? '-' : '+'}FLAGS.SILENT (\\Flagged)`,
      `UID STORE ${r % 2 ? odd : even} -FLAGS.SILENT (\\Seen)`,
    ];
    const started = performance.now();
    if (r % 2 === 0) for (const command of commands) await send([command]);
    else await send(commands);
    results[r % 2 === 0 ? 'sequential' : 'pipelined'].push(Math.round(performance.now() - started));
  }
  await send(['LOGOUT']).catch(() => undefined);
  socket.destroy();
  watcher?.destroy();
  const settings = [values.qresync ? 'QRESYNC enabled' : '', values.watcher ? `another connection on INBOX: ${values.watcher}` : '', values['very-dirty-syncs'] ? 'maildir_very_dirty_syncs' : ''].filter(Boolean).join(', ');
  console.log(`${N} messages, three UID STOREs on the newest ${n}${settings ? ` (${settings})` : ''}, ms per round:`);
  console.log(`  one after the other: ${results.sequential.join(' ')}`);
  console.log(`  pipelined:           ${results.pipelined.join(' ')}`);
} finally {
  await dovecot.stop();
}
