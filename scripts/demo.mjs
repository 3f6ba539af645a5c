#!/usr/bin/env node
// npm run demo — the whole of Twinbox on this machine, for a first look:
// a private Dovecot with a sample desktop mailbox, the sync server, and the
// desktop agent; then one initial sync, a few changes on each side and an
// update sync, printing both inboxes side by side after each.
import { TwinboxSystem } from '@twinbox/testkit';

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
  const phone = system.phone().inbox().map((m) => ({ label: m.subject, seen: m.seen, flagged: m.flagged }));
  table(title, desktop, phone, { desktop: await system.desktop.labels('Trash'), phone: system.phoneLabels('trash') });
}

const system = await TwinboxSystem.start({ window: WINDOW });
try {
  console.log(`Dovecot on 127.0.0.1:${system.dovecot.imapPort}, sync server on ${system.serverUrl}`);
  const times = ['10:00', '09:50', '09:40', '09:30', '09:20', '09:10', '09:00', '08:50', '08:40', '08:30'];
  for (const [i, t] of times.entries()) await system.desktop.deliver({ label: `C${i + 1}-desktop`, date: at(t), seen: i % 3 === 2 });
  system.phoneDeliver({ label: 'P1-phone', date: at('09:45') });
  system.phoneDeliver({ label: 'P2-phone', date: at('07:00') });
  await show(system, 'Before the first sync');

  let summary = await system.sync();
  await show(system, `After sync ${summary.syncNo} (${summary.mode}, ${summary.durationMs} ms)`);

  await system.desktop.move('C1-desktop', 'INBOX', 'Trash');
  await system.desktop.setFlag('C2-desktop', '\\Seen', true);
  system.phoneDeliver({ label: 'P3-phone-new', date: at('10:30') });
  system.phone().flag(system.phoneId('C4-desktop'));
  console.log('\nChanges: desktop trashes C1 and reads C2; the phone gets P3 and flags C4.');
  summary = await system.sync();
  await show(system, `After sync ${summary.syncNo} (${summary.mode}, ${summary.durationMs} ms, ${summary.wire.framesSent + summary.wire.framesReceived} frames)`);
} finally {
  await system.stop();
}
