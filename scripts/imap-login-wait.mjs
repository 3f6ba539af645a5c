#!/usr/bin/env node
// Used by test-servers.sh: wait until an IMAP server accepts a login (at most `seconds`, default 30). A port that
// listens is not enough: Courier's couriertcpd listens before its authdaemon answers, and a login then is closed
// ("Unexpected close"). Exits 0 once a LOGIN succeeded and the session logged out, 1 otherwise (last error printed).
import { ImapFlow } from 'imapflow';

const [host, port, user, pass, seconds = '30'] = process.argv.slice(2);
const deadline = Date.now() + Number(seconds) * 1000;
let last = 'no attempt';
while (Date.now() < deadline) {
  const client = new ImapFlow({ host, port: Number(port), secure: false, doSTARTTLS: false, auth: { user, pass }, logger: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.logout();
    process.exit(0);
  } catch (err) {
    last = err instanceof Error ? err.message : String(err);
    client.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}
console.error(`imap-login-wait: no login on ${host}:${port} within ${seconds} s (last: ${last})`);
process.exit(1);
