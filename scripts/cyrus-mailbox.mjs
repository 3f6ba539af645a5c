#!/usr/bin/env node
// Used by test-servers.sh: as the Cyrus admin, create a user's mailbox; as the user, create Trash and
// Sent the way a mail client would. Prints the user's namespace prefix and separator as JSON.
import { ImapFlow } from 'imapflow';

const [host, port, admin, adminPass, user, userPass] = process.argv.slice(2);
const connect = async (name, pass) => {
  const client = new ImapFlow({ host, port: Number(port), secure: false, doSTARTTLS: false, auth: { user: name, pass }, logger: false });
  client.on('error', () => undefined);
  await client.connect();
  return client;
};
const root = await connect(admin, adminPass);
const separator = root.namespace?.delimiter ?? '.';
await root.mailboxCreate(`user${separator}${user}`).catch((err) => {
  if (!/exists/i.test(String(err.responseText ?? err.message))) throw err;
});
await root.logout();
const client = await connect(user, userPass);
const prefix = client.namespace?.prefix ?? '';
const delimiter = client.namespace?.delimiter ?? separator;
for (const name of ['Trash', 'Sent']) await client.mailboxCreate(`${prefix}${name}`).catch(() => undefined);
await client.logout();
console.log(JSON.stringify({ prefix, separator: delimiter }));
