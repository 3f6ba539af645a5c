#!/usr/bin/env node
// npm run try-imap — a private IMAP server to try Twinbox for real on one machine (README "Try it for real on
// one machine"): the project's Dovecot on 127.0.0.1 only, with one user and a few messages in its INBOX, until
// Ctrl-C (which stops it and deletes its mail). It prints the exact `twinbox-agent pair` line for it.
//
//   npm run try-imap -- [--server DIR] [--account alice] [--secrets-file PATH] [--agent-config PATH] [--port 1143]
//
//   --server DIR         the folder `twinbox-server init --dir DIR` made: its address and key pins go into the pair line
//   --secrets-file PATH  what `twinbox-server account add --secrets-file` wrote (token and trigger secret)
//   --agent-config PATH  where the agent's config is to be written (default: beside DIR, agent.json)
//   --port N             the IMAP port (default 1143; the same port next time, so a paired agent finds it again)
//
// While it runs, Enter delivers one more message to the INBOX (new mail, to watch it reach the phone).
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { ROOT, startDovecot } from '@twinbox/testkit';

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    account: { type: 'string', default: 'alice' },
    'secrets-file': { type: 'string' },
    'agent-config': { type: 'string' },
    port: { type: 'string', default: '1143' },
  },
});
const USER = values.account;
const PASSWORD = 'try-password';

const dovecot = await startDovecot([{ name: USER, password: PASSWORD }], undefined, { imapPort: Number(values.port) });
let delivered = 0;
const SAMPLES = [
  ['Ada Lovelace <ada@example.test>', 'Notes on the engine', 'The figures for Thursday are attached in spirit.'],
  ['Grace Hopper <grace@example.test>', 'Nanoseconds', 'I brought a piece of wire 30 cm long: that is one nanosecond.'],
  ['Alan Turing <alan@example.test>', 'Lunch?', 'Shall we meet at the usual place at one?'],
  ['Katherine Johnson <katherine@example.test>', 'Trajectory check', 'The numbers agree to the eighth decimal.'],
  ['Edsger Dijkstra <edsger@example.test>', 'A short note', 'Simplicity is prerequisite for reliability.'],
];
const lmtp = nodemailer.createTransport({ host: '127.0.0.1', port: dovecot.lmtpPort, lmtp: true, secure: false, ignoreTLS: true });

/** One message into the INBOX, as a mail server delivers it (LMTP). */
async function deliver() {
  const [from, subject, text] = SAMPLES[delivered % SAMPLES.length];
  delivered++;
  await lmtp.sendMail({ from, to: `${USER}@example.test`, subject: delivered > SAMPLES.length ? `${subject} (${delivered})` : subject, text, date: new Date(), envelope: { from: 'try@example.test', to: [`${USER}@example.test`] } });
}
for (let i = 0; i < SAMPLES.length; i++) await deliver();

const imap = `--imap-host 127.0.0.1 --imap-port ${dovecot.imapPort} --imap-security plain --imap-user ${USER}`;
console.log(`IMAP server on 127.0.0.1:${dovecot.imapPort} (this machine only, no TLS), user ${USER}, password ${PASSWORD}; ${SAMPLES.length} messages in its INBOX.`);
if (values.server) {
  const serverDir = resolve(values.server);
  const config = JSON.parse(readFileSync(join(serverDir, 'config.json'), 'utf8'));
  const url = config.publicUrl ?? `wss://${config.listen.host ?? '127.0.0.1'}:${config.listen.port}/sync`;
  const server = join(ROOT, 'packages/sync-server/bin/twinbox-server.js');
  const cert = JSON.parse(execFileSync(process.execPath, [server, 'certificate', '--config', join(serverDir, 'config.json'), '--json'], { encoding: 'utf8' }));
  const pins = [cert.pin, cert.backupPin].filter(Boolean).map((p) => `--pin=${p}`).join(' ');
  const agentConfig = resolve(values['agent-config'] ?? join(dirname(serverDir), 'agent.json'));
  const secrets = values['secrets-file'] ? ` --secrets-file ${resolve(values['secrets-file'])}` : '';
  console.log('Pair the agent with it (in another terminal, from this folder):');
  console.log(`printf 'imap-password=${PASSWORD}\\n' | npx twinbox-agent pair --config ${agentConfig} --server=${url} --account=${USER} ${pins}${secrets} --secrets-stdin ${imap}`);
} else {
  console.log(`The IMAP part of the pair command: ${imap} (and imap-password=${PASSWORD} on its standard input)`);
}
console.log('Enter delivers one more message; Ctrl-C stops this server and deletes its mail.');

process.stdin.on('data', () => void deliver().then(() => console.log(`delivered message ${delivered}`), (err) => console.error(`delivery failed: ${err.message}`)));
const gone = (pid) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};
const stop = async () => {
  process.stdin.pause();
  lmtp.close();
  const pid = dovecot.pid;
  await dovecot.stop();
  // Dovecot takes about a second to stop; then its folder (and the mail) goes.
  for (let i = 0; i < 100 && !gone(pid); i++) await new Promise((r) => setTimeout(r, 50));
  rmSync(dovecot.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  console.log('IMAP server stopped; its mail is deleted.');
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
