#!/usr/bin/env node
// npm run demo — the whole of Twinbox on this machine, for a first look:
// a private Dovecot with a sample desktop mailbox, the sync server, and the
// desktop agent; then one initial sync, a few changes on each side and an
// update sync, printing both inboxes side by side after each.
//
// npm run demo -- --keep   then leaves it running, with the background agent, and prints a sign-in link
//                          for the phone web app (open it in a browser on this machine; Ctrl-C ends it).
import { TwinboxSystem } from '@twinbox/testkit';

const KEEP = process.argv.includes('--keep');

const WINDOW = 6;
const at = (hhmm) => new Date(`2024-03-01T${hhmm}:00Z`);

function table(title, desktop, phone, trash) {
  const width = 36;
  const line = (l, r) => `  ${l.padEnd(width)}│ ${r}`;
  console.log(`\n${title}`);
  console.log(line(`desktop INBOX (${desktop.length})`, `phone Inbox (window of ${WINDOW})`));
  console.log(line('─'.repeat(width - 1), '─'.repeat(30)));
  const rows = Math.max(desktop.length, phone.length);
  for (let i = 0; i < rows; i++) {
    const d = desktop[i];
    const p = phone[i];
    const fmt = (m) => (m ? `${String(i + 1).padStart(2)}. ${m.label}${m.seen ? '' : ' •'}${m.flagged ? ' ⚑' : ''}` : '');
    console.log(line(fmt(d), fmt(p)));
  }
  console.log(`  Trash — desktop: [${trash.desktop.join(', ')}]   phone: [${trash.phone.join(', ')}]   (• unread, ⚑ flagged)`);
}

async function show(system, title) {
  const desktop = await system.desktop.list('INBOX');
  const phone = (await system.phone().inbox()).map((m) => ({ label: m.subject, seen: m.seen, flagged: m.flagged }));
  table(title, desktop, phone, { desktop: await system.desktop.labels('Trash'), phone: await system.phoneLabels('trash') });
}

const system = await TwinboxSystem.start({ window: WINDOW });
try {
  console.log(`Dovecot on 127.0.0.1:${system.dovecot.imapPort}, sync server on ${system.serverUrl}`);
  const times = ['10:00', '09:50', '09:40', '09:30', '09:20', '09:10', '09:00', '08:50', '08:40', '08:30'];
  for (const [i, t] of times.entries()) await system.desktop.deliver({ label: `C${i + 1}-desktop`, date: at(t), seen: i % 3 === 2 });
  await system.phoneDeliver({ label: 'P1-phone', date: at('09:45') });
  await system.phoneDeliver({ label: 'P2-phone', date: at('07:00') });
  await show(system, 'Before the first sync');

  let summary = await system.sync();
  await show(system, `After sync ${summary.syncNo} (${summary.mode}, ${summary.durationMs} ms)`);

  await system.desktop.move('C1-desktop', 'INBOX', 'Trash');
  await system.desktop.setFlag('C2-desktop', '\\Seen', true);
  await system.phoneDeliver({ label: 'P3-phone-new', date: at('10:30') });
  await system.phone().flag(await system.phoneId('C4-desktop'));
  console.log('\nChanges: desktop trashes C1 and reads C2; the phone gets P3 and flags C4.');
  summary = await system.sync();
  await show(system, `After sync ${summary.syncNo} (${summary.mode}, ${summary.durationMs} ms, ${summary.wire.framesSent + summary.wire.framesReceived} frames)`);

  const { signInUrl } = await system.addPhoneDevice('user1', 'demo browser');
  if (!KEEP) {
    console.log('\nThe phone web app: run `npm run demo -- --keep` to keep this running and get a sign-in link to open.');
  } else {
    const daemon = await system.startDaemon(['--schedule', '*/1 * * * *']);
    console.log(`\nThe phone web app (the server's certificate is self-signed: your browser asks you to accept it):\n  ${signInUrl}`);
    console.log(`The desktop mailbox is IMAP 127.0.0.1:${system.dovecot.imapPort}, user ${system.dovecot.users[0].name}, password ${system.dovecot.users[0].password}; the agent syncs every minute and on every change.`);
    console.log('Ctrl-C ends the demo.');
    await new Promise((resolve) => process.once('SIGINT', resolve));
    await daemon.stop();
  }
} finally {
  await system.stop();
}
