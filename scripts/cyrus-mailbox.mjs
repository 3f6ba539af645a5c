#!/usr/bin/env node
// Used by test-servers.sh: as a Cyrus user, create Trash and Sent the way a mail client would, and print the
// user's namespace prefix and separator as JSON.
import { ImapFlow } from 'imapflow';

const [host, port, user, pass] = process.argv.slice(2);
const client = new ImapFlow({ host, port: Number(port), secure: false, doSTARTTLS: false, auth: { user, pass }, logger: false });
client.on('error', () => undefined);
await client.connect();
const prefix = client.namespace?.prefix ?? '';
const separator = client.namespace?.delimiter ?? '.';
for (const name of ['Trash', 'Sent']) await client.mailboxCreate(`${prefix}${name}`).catch(() => undefined);
await client.logout();
console.log(JSON.stringify({ prefix, separator }));
