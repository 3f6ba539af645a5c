#!/usr/bin/env node
/**
 * twinbox-server — run and administer the Twinbox sync server. Its commands,
 * their options and their help are the table below; the command line's
 * style, exit statuses and signal handling are the program shell's
 * (@twinbox/cli), the same as the agent's: 0 done, 1 failed (a bad config is
 * CONFIG), 64 usage error, 75 failed but worth retrying.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, packageVersion, parseCommandLine, required, runProgram, wholeNumber, type ParsedValues } from '@twinbox/cli';
import { PROTOCOL_VERSION, TRANSPORT_SECURITY } from '@twinbox/protocol';
import { loadConfig } from './config.js';
import { runHousekeeping } from './housekeeping.js';
import { createLogger } from './log.js';
import { startServer } from './server.js';
import { ServerStore } from './store/index.js';
import { certificateFingerprint, certificatePin, makePrivateKey, makeSelfSignedCertificate, privateKeyPin } from './tls.js';
import { withStore } from './commands/shared.js';
import { PUSH_DEFAULTS, validSubject } from './push/push-config.js';
import { makeVapidKey } from './push/vapid.js';

const OPTIONS = {
  dir: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'public-url': { type: 'string' },
  'smtp-port': { type: 'string' },
  'smtp-host': { type: 'string' },
  'trusted-sender': { type: 'string', multiple: true },
  'relay-host': { type: 'string' },
  'relay-port': { type: 'string' },
  'relay-security': { type: 'string' },
  'push-subject': { type: 'string' },
  config: { type: 'string' },
  id: { type: 'string' },
  desktop: { type: 'string' },
  phone: { type: 'string' },
  window: { type: 'string' },
  'unread-first': { type: 'boolean' },
  'conflict-policy': { type: 'string' },
  'trigger-secret': { type: 'boolean' },
  json: { type: 'boolean' },
  'secrets-file': { type: 'string' },
  name: { type: 'string' },
  device: { type: 'string' },
  to: { type: 'string' },
} as const;

type Values = ParsedValues<typeof OPTIONS>;

interface Command {
  usage: string;
  about: string;
  options: readonly (keyof typeof OPTIONS)[];
  run(values: Values): void | Promise<void>;
}

const accounts = () => import('./commands/accounts.js');
const devices = () => import('./commands/devices.js');

const COMMANDS: Record<string, Command> = {
  init: {
    usage: `init --dir DIR [--host 127.0.0.1] [--port 8443] [--public-url wss://HOST:PORT/sync]
       [--smtp-port 25 [--smtp-host 0.0.0.0] [--trusted-sender 127.0.0.1]] [--relay-host H --relay-port 587 [--relay-security starttls|tls|plain]]
       [--push-subject mailto:ops@example.com] [--json]`,
    about: 'a new server folder: config.json, the database, a self-signed certificate, a backup key (docs/trust.md) and the Web Push (VAPID) key',
    options: ['dir', 'host', 'port', 'public-url', 'smtp-port', 'smtp-host', 'trusted-sender', 'relay-host', 'relay-port', 'relay-security', 'push-subject', 'json'],
    run: init,
  },
  start: {
    usage: 'start --config FILE [--json]',
    about: 'run the server (SIGTERM stops it; SIGHUP reads the TLS files again, which it also does by itself when they change)',
    options: ['config', 'json'],
    run: start,
  },
  certificate: {
    usage: 'certificate --config FILE [--json]',
    about: "the certificate in use, its key pin and the backup key's pin (what agents pin; what twinbox-agent repin shows)",
    options: ['config', 'json'],
    run: async (v) => (await import('./commands/certificate.js')).certificate(v),
  },
  'account add': {
    usage: `account add --config FILE --id ID --desktop ADDR [--phone ADDR] [--window N] [--unread-first] [--conflict-policy desktop|phone]
       [--secrets-file PATH | --json]`,
    about: 'a new account; prints the twinbox-agent pair command (without secrets); the secrets go to a new 0600 file, or JSON, or stdout lines',
    options: ['config', 'id', 'desktop', 'phone', 'window', 'unread-first', 'conflict-policy', 'secrets-file', 'json'],
    run: async (v) => (await accounts()).accountAdd(v),
  },
  'account list': {
    usage: 'account list --config FILE [--json]',
    about: 'the accounts: desktop address, window, phone inbox, pending changes, last sync, whether the agent is connected',
    options: ['config', 'json'],
    run: async (v) => (await accounts()).accountList(v),
  },
  'account token': {
    usage: 'account token --config FILE --id ID [--trigger-secret] [--secrets-file PATH | --json]',
    about: 'a new agent token (and trigger secret with --trigger-secret); the old token stops working; the mail is untouched',
    options: ['config', 'id', 'trigger-secret', 'secrets-file', 'json'],
    run: async (v) => (await accounts()).accountToken(v),
  },
  'account remove': {
    usage: 'account remove --config FILE --id ID [--json]',
    about: 'remove an account with every message and row of it',
    options: ['config', 'id', 'json'],
    run: async (v) => (await accounts()).accountRemove(v),
  },
  housekeeping: {
    usage: 'housekeeping --config FILE [--json]',
    about: 'retention and compaction now (the running server does it hourly)',
    options: ['config', 'json'],
    run: housekeeping,
  },
  'store migrate': {
    usage: 'store migrate --config FILE [--to postgres://USER@HOST/DB] [--json]   (the URL with its password: TWINBOX_MIGRATE_TO)',
    about: "copy this server's SQLite database into an empty PostgreSQL database and verify it (docs/scaling.md); safe to run again. Stop the server first",
    options: ['config', 'to', 'json'],
    run: async (v) => (await import('./commands/store-migrate.js')).storeMigrate(v),
  },
  'device add': {
    usage: 'device add --config FILE --id ACCOUNT [--name NAME] [--json]',
    about: "a phone for the account: its sign-in link (and QR code) and its API token",
    options: ['config', 'id', 'name', 'json'],
    run: async (v) => (await devices()).deviceAdd(v),
  },
  'device link': {
    usage: 'device link --config FILE --id ACCOUNT --device N [--json]',
    about: 'a new sign-in link for a device (a new phone, a cleared browser)',
    options: ['config', 'id', 'device', 'json'],
    run: async (v) => (await devices()).deviceLink(v),
  },
  'device list': {
    usage: 'device list --config FILE --id ACCOUNT [--json]',
    about: 'the devices, when each was last seen, signed-in browsers',
    options: ['config', 'id', 'json'],
    run: async (v) => (await devices()).deviceList(v),
  },
  'device revoke': {
    usage: 'device revoke --config FILE --id ACCOUNT --device N [--json]',
    about: 'its token and sessions stop working; an open app is signed out within seconds',
    options: ['config', 'id', 'device', 'json'],
    run: async (v) => (await devices()).deviceRevoke(v),
  },
};

const VERSION = packageVersion(new URL('../package.json', import.meta.url));

function usage(command?: string): string {
  const shown = command ? Object.keys(COMMANDS).filter((name) => name === command || name.startsWith(`${command} `)) : Object.keys(COMMANDS);
  const lines = shown.flatMap((name) => [`  twinbox-server ${COMMANDS[name]!.usage}`, `       ${COMMANDS[name]!.about}`, '']);
  return `usage:\n${lines.join('\n')}  twinbox-server --version [--json]\n\nExit status: 0 done, 1 failed (a bad config: CONFIG), 64 usage error, 75 failed but worth retrying later.`;
}

async function init(values: Values): Promise<void> {
  const dir = resolve(required(values, 'dir', 'init'));
  const host = values.host ?? '127.0.0.1';
  const port = wholeNumber(values.port ?? '8443', 'port', 0, 65535, 'init');
  const relaySecurity = values['relay-security'] ?? 'starttls';
  if (!(TRANSPORT_SECURITY as readonly string[]).includes(relaySecurity)) throw new UsageError(`--relay-security must be one of ${TRANSPORT_SECURITY.join(', ')}`, 'init');
  const smtpPort = values['smtp-port'] !== undefined ? wholeNumber(values['smtp-port'], 'smtp-port', 0, 65535, 'init') : undefined;
  const relayPort = wholeNumber(values['relay-port'] ?? '587', 'relay-port', 1, 65535, 'init');
  if (values['public-url'] !== undefined && !/^wss:\/\/\S+$/.test(values['public-url'])) throw new UsageError('--public-url must be a wss:// URL, like wss://twinbox.example.com:8443/sync', 'init');
  // Web Push: the VAPID key beside the TLS key; push is on once it has a subject (a contact for push services).
  const pushSubject = values['push-subject'];
  if (pushSubject !== undefined && !validSubject(pushSubject)) throw new UsageError('--push-subject must be a mailto: address or an https: URL', 'init');
  // The server's folder holds its private keys, its database and config: its owner's alone.
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  else if ((statSync(dir).mode & 0o077) !== 0) console.error(`twinbox-server: warning: ${dir} is readable by other users; chmod 700 it`);
  const configPath = join(dir, 'config.json');
  if (existsSync(configPath)) throw new Error(`${configPath} exists already; not overwriting it`);
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const backupKey = join(dir, 'backup-key.pem');
  if (!existsSync(key) || !existsSync(cert)) makeSelfSignedCertificate(key, cert, [...new Set([host, 'localhost', '127.0.0.1'])]);
  if (!existsSync(backupKey)) makePrivateKey(backupKey);
  makeVapidKey(join(dir, PUSH_DEFAULTS.vapidKey));
  const config = {
    database: 'twinbox.db',
    listen: { host, port },
    tls: { key: 'key.pem', cert: 'cert.pem', backupKey: 'backup-key.pem' },
    ...(values['public-url'] ? { publicUrl: values['public-url'] } : {}),
    ...(smtpPort !== undefined ? { smtp: { host: values['smtp-host'] ?? host, port: smtpPort, trustedSenders: values['trusted-sender'] ?? [] } } : {}),
    ...(values['relay-host'] ? { relay: { host: values['relay-host'], port: relayPort, security: relaySecurity } } : {}),
    push: { vapidKey: PUSH_DEFAULTS.vapidKey, ...(pushSubject ? { subject: pushSubject } : {}) },
  };
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // The database, made now beside the config (with this release's schema).
  await (await ServerStore.open(join(dir, 'twinbox.db'))).close();
  const pins = { pin: certificatePin(cert), backupPin: privateKeyPin(backupKey) };
  if (values.json) return void console.log(JSON.stringify({ config: configPath, ...pins, certificateSha256: certificateFingerprint(cert) }));
  console.log(`wrote ${configPath}`);
  console.log(`key pin (agents pin it):  ${pins.pin}`);
  console.log(`backup pin (the spare key backup-key.pem, for a key change; docs/trust.md):  ${pins.backupPin}`);
  if (!pushSubject) console.log('push notifications: off until push.subject is set in the config (a mailto: or https: contact for push services)');
}

async function start(values: Values): Promise<void> {
  const config = loadConfig(required(values, 'config', 'start'));
  const log = createLogger('server');
  const server = await startServer(config);
  const listening = { host: server.host, port: server.port, smtpPort: server.smtpPort ?? null, metricsPort: server.metricsPort ?? null, pid: process.pid };
  if (values.json) console.log(JSON.stringify({ event: 'listening', ...listening }));
  else {
    console.log(`twinbox-server listening on ${server.host}:${server.port} (pid ${process.pid})`);
    if (server.smtpPort) console.log(`twinbox-server smtp on ${config.smtp!.host}:${server.smtpPort}`);
    if (server.metricsPort) console.log(`twinbox-server metrics on http://${config.metrics!.listen!.host}:${server.metricsPort}/metrics`);
  }
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.on('SIGHUP', () => {
    if (!server.reloadTls()) log.info('SIGHUP: the TLS files are unchanged (or not a pair yet)');
  });
}

async function housekeeping(values: Values): Promise<void> {
  await withStore(values, 'housekeeping', async (store, config) => {
    const report = await runHousekeeping(store, config.retention, createLogger('server'), { node: `${config.cluster.nodeName}:command`, waitMs: 60_000 });
    if (values.json) return void console.log(JSON.stringify(report));
    if (report.busy) return void console.log(`housekeeping: ${report.busy} is running it now; nothing done here`);
    const accounts = Object.entries(report.accounts);
    if (accounts.length === 0) console.log('housekeeping: nothing to remove');
    for (const [id, done] of accounts) {
      const expired = done.trashExpired > 0 ? ` (${done.trashExpired} also from the desktop Trash at its next sync, where still there)` : ' (the desktop keeps its copies)';
      console.log(`${id}: ${done.trashDropped} Trash copies dropped from the phone${expired}, ${done.sentRemoved} Sent copies removed from the phone`);
    }
    console.log(`${report.pagesFreed} free database pages given back`);
  });
}

async function main(): Promise<void> {
  const options = Object.fromEntries(Object.entries(COMMANDS).map(([name, c]) => [name, c.options]));
  const { command, values, help, version } = parseCommandLine(process.argv.slice(2), OPTIONS, options);
  if (version) {
    return void console.log(values.json ? JSON.stringify({ program: 'twinbox-server', version: VERSION, protocol: PROTOCOL_VERSION }) : `twinbox-server ${VERSION} (protocol ${PROTOCOL_VERSION})`);
  }
  if (help) return void console.log(usage(command));
  if (command === undefined) throw new UsageError(`a command is needed: ${[...new Set(Object.keys(COMMANDS).map((c) => c.split(' ')[0]))].join(', ')}`);
  await COMMANDS[command]!.run(values);
}

runProgram('twinbox-server', main, (signal) => createLogger('server').warn(`${signal} ignored`));
