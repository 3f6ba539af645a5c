/**
 * `twinbox-agent repin`: trust the server's new key, after its operator
 * changed it (docs/trust.md). It shows the key the server presents now — its
 * pin, the certificate's subject, issuer and dates — and asks before it
 * trusts it: a question on a terminal; for a script, `--pin PIN` (trust it
 * only if it is this one, as `twinbox-server certificate` prints it) or
 * `--yes` (trust what is presented: only on a network you trust). The server
 * must then accept the token over the new key, or nothing is written.
 */
import { createInterface } from 'node:readline/promises';
import type { X509Certificate } from 'node:crypto';
import { UsageError, isoTime } from '@twinbox/cli';
import { KEY_PIN, PROTOCOL_VERSION, TwinboxError, keyPinOf } from '@twinbox/protocol';
import { editAgentConfigFile, loadAgentConfig, type ServerSettings } from '../config.js';
import { SyncConnection } from '../transport/connection.js';
import { presentedCertificate } from '../transport/trust.js';

export interface RepinValues {
  config?: string;
  pin?: string;
  'backup-pin'?: string[];
  yes?: boolean;
  json?: boolean;
}

function described(cert: X509Certificate) {
  return {
    pin: keyPinOf(cert),
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    names: cert.subjectAltName ?? '',
    validFrom: isoTime(Date.parse(cert.validFrom)),
    validTo: isoTime(Date.parse(cert.validTo)),
    selfSigned: cert.issuer === cert.subject,
    certificateSha256: cert.fingerprint256,
  };
}

async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** The server accepts this agent's token over a connection trusting `pins` (a `watch` hello). */
async function tokenAccepted(server: ServerSettings, account: string, token: string): Promise<void> {
  const conn = await SyncConnection.open(server);
  try {
    conn.send({ type: 'watch', version: PROTOCOL_VERSION, accountId: account, token, agentId: 'repin-check' });
    await conn.expect('watching');
  } finally {
    conn.close();
  }
}

export async function repin(values: RepinValues): Promise<void> {
  if (!values.config) throw new UsageError('--config is required', 'repin');
  for (const pin of [values.pin, ...(values['backup-pin'] ?? [])]) {
    if (pin !== undefined && !KEY_PIN.test(pin)) throw new UsageError(`a pin is sha256// and 44 base64 characters, as twinbox-server certificate prints it; not ${JSON.stringify(pin)}`, 'repin');
  }
  if (values.pin !== undefined && values.yes) throw new UsageError('give --pin PIN (trust only that key) or --yes (trust what is presented), not both', 'repin');
  const config = loadAgentConfig(values.config);
  const cert = await presentedCertificate(config.server);
  const shown = described(cert);
  const already = config.server.pins?.includes(shown.pin) ?? false;
  const lines = [
    `server ${config.server.url} presents the key ${shown.pin}`,
    `  certificate: ${shown.subject}; issued by ${shown.issuer}${shown.selfSigned ? ' (self-signed)' : ''}`,
    `  valid ${shown.validFrom} to ${shown.validTo}${shown.names ? `; names ${shown.names}` : ''}`,
    `  pinned now: ${config.server.pins?.join(', ') ?? `the whole certificate ${config.server.fingerprint}`}`,
  ];
  if (already && !values['backup-pin']?.length) {
    if (values.json) return void console.log(JSON.stringify({ server: config.server.url, presented: shown, trusted: true, changed: false, pins: config.server.pins }));
    for (const line of lines) console.log(line);
    return void console.log('This key is pinned already: nothing to change.');
  }
  if (!values.json) for (const line of lines) console.log(line);
  let trust: boolean;
  if (already) trust = true; // only backup pins to add
  else if (values.pin !== undefined) {
    if (values.pin !== shown.pin) throw new TwinboxError('CERT_MISMATCH', `the server presents ${shown.pin}, not the --pin ${values.pin}; nothing changed`);
    trust = true;
  } else if (values.yes) trust = true;
  else if (process.stdin.isTTY && process.stdout.isTTY) {
    console.log('Compare the pin with what the server\'s operator sees (twinbox-server certificate --config …).');
    trust = await ask('Trust this key for this server? [y/N] ');
  } else throw new UsageError('repin asks before it trusts a new key: run it on a terminal, or give --pin PIN (or --yes)', 'repin');
  if (!trust) {
    if (values.json) return void console.log(JSON.stringify({ server: config.server.url, presented: shown, trusted: false, changed: false }));
    console.log('Not trusted; nothing changed.');
    process.exitCode = 1;
    return;
  }
  const pins = [...new Set([shown.pin, ...(values['backup-pin'] ?? [])])];
  const { fingerprint: _old, ...server } = config.server;
  await tokenAccepted({ ...server, pins }, config.account, config.token);
  editAgentConfigFile(config.path, (file) => {
    file.server.pins = pins;
    delete file.server.fingerprint;
  });
  if (values.json) return void console.log(JSON.stringify({ server: config.server.url, presented: shown, trusted: true, changed: true, pins }));
  console.log(`pinned ${pins.join(', ')} in ${config.path}; the server accepted the token over it`);
}
