#!/usr/bin/env node
/**
 * twinbox-server — run and administer the Twinbox sync server.
 *
 *   twinbox-server init --dir DIR [--host 127.0.0.1] [--port 8443] [--public-url wss://…/sync]
 *                       [--smtp-port 25 [--smtp-host H] [--trusted-sender ADDR]] [--relay-host H --relay-port P [--relay-security S]]
 *                       [--push-subject mailto:ADDR|https://URL]   (Web Push on: the contact push services see)
 *   twinbox-server start --config DIR/config.json
 *   twinbox-server account add --config FILE --id ID --desktop ADDR [--phone ADDR] [--window N]
 *                              [--unread-first] [--conflict-policy desktop|phone] [--secrets-file PATH | --json]
 *        the pairing secrets (agent token, trigger secret) never go on a command line (`ps` shows those to
 *        every user): --secrets-file writes them to a new file (0600), --json prints them for a program, and
 *        without either they are printed as lines for the agent's `pair --secrets-stdin`
 *   twinbox-server account list --config FILE
 *   twinbox-server account remove --config FILE --id ID          (every message and row of the account)
 *   twinbox-server housekeeping --config FILE                     (retention and compaction now)
 *   twinbox-server device add --config FILE --id ACCOUNT [--name NAME] [--json]   (a sign-in link and QR code; the API token)
 *   twinbox-server device link --config FILE --id ACCOUNT --device N               (a new sign-in link for a device)
 *   twinbox-server device list --config FILE --id ACCOUNT
 *   twinbox-server device revoke --config FILE --id ACCOUNT --device N
 *
 * Exit status, as the agent's: 0 done, 1 failed (a bad config is `CONFIG`), 75 failed but worth retrying,
 * 64 usage error.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TRANSPORT_SECURITY, TwinboxError } from '@twinbox/protocol';
import qrcode from 'qrcode-terminal';
import { loadConfig, type ServerConfig } from './config.js';
import { startServer } from './server.js';
import { ServerStore } from './store/index.js';
import { SIGNIN_CODE_TTL_MS } from './store/devices.js';
import { releaseFreePages } from './store/db.js';
import { runHousekeeping } from './housekeeping.js';
import { createLogger } from './log.js';
import { certificateFingerprint, makeSelfSignedCertificate } from './tls.js';
import { PUSH_DEFAULTS, validSubject } from './push/push-config.js';
import { makeVapidKey } from './push/vapid.js';

const USAGE = `usage:
  twinbox-server init --dir DIR [--host 127.0.0.1] [--port 8443] [--public-url wss://HOST:PORT/sync]
                     [--smtp-port 25 [--smtp-host 0.0.0.0] [--trusted-sender 127.0.0.1]] [--relay-host H --relay-port 587 [--relay-security starttls|tls|plain]]
                     [--push-subject mailto:ops@example.com]
  twinbox-server start --config FILE
  twinbox-server account add --config FILE --id ID --desktop ADDR [--phone ADDR] [--window N] [--unread-first] [--conflict-policy desktop|phone]
                             [--secrets-file PATH | --json]   the pairing secrets to a new 0600 file, or all of the pairing as JSON
  twinbox-server account list --config FILE
  twinbox-server account remove --config FILE --id ID
  twinbox-server housekeeping --config FILE
  twinbox-server device add --config FILE --id ACCOUNT [--name NAME] [--json]
  twinbox-server device link --config FILE --id ACCOUNT --device N
  twinbox-server device list --config FILE --id ACCOUNT
  twinbox-server device revoke --config FILE --id ACCOUNT --device N`;

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
  json: { type: 'boolean' },
  'secrets-file': { type: 'string' },
  name: { type: 'string' },
  device: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function need(values: Values, name: keyof Values): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

class UsageError extends Error {}

function publicUrlOf(config: ServerConfig): string {
  return config.publicUrl ?? `wss://${config.listen.host}:${config.listen.port}/sync`;
}

function init(values: Values): void {
  const dir = resolve(need(values, 'dir'));
  // The server's folder holds its private key, its database and config: its owner's alone (issue 9.8).
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  else if ((statSync(dir).mode & 0o077) !== 0) console.error(`twinbox-server: warning: ${dir} is readable by other users; chmod 700 it`);
  const configPath = join(dir, 'config.json');
  if (existsSync(configPath)) throw new Error(`${configPath} exists already; not overwriting it`);
  const host = values.host ?? '127.0.0.1';
  const port = Number(values.port ?? 8443);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0..65535');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  if (!existsSync(key) || !existsSync(cert)) makeSelfSignedCertificate(key, cert, [...new Set([host, 'localhost', '127.0.0.1'])]);
  chmodSync(key, 0o600);
  const smtp = values['smtp-port']
    ? { smtp: { host: values['smtp-host'] ?? host, port: Number(values['smtp-port']), trustedSenders: values['trusted-sender'] ?? [] } }
    : {};
  const relaySecurity = values['relay-security'] ?? 'starttls';
  if (!(TRANSPORT_SECURITY as readonly string[]).includes(relaySecurity)) throw new UsageError(`--relay-security must be one of ${TRANSPORT_SECURITY.join(', ')}`);
  const relay = values['relay-host'] ? { relay: { host: values['relay-host'], port: Number(values['relay-port'] ?? 587), security: relaySecurity } } : {};
  // Web Push (issue 20): the VAPID key beside the TLS key; push is on once it has a subject (a contact for push services).
  const pushSubject = values['push-subject'];
  if (pushSubject !== undefined && !validSubject(pushSubject)) throw new UsageError('--push-subject must be a mailto: address or an https: URL');
  makeVapidKey(join(dir, PUSH_DEFAULTS.vapidKey));
  const config = {
    database: 'twinbox.db',
    listen: { host, port },
    tls: { key: 'key.pem', cert: 'cert.pem' },
    ...(values['public-url'] ? { publicUrl: values['public-url'] } : {}),
    ...smtp,
    ...relay,
    push: { vapidKey: PUSH_DEFAULTS.vapidKey, ...(pushSubject ? { subject: pushSubject } : {}) },
  };
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  ServerStore.open(join(dir, 'twinbox.db')).close();
  console.log(`wrote ${configPath}`);
  console.log(`certificate fingerprint (agents pin it): ${certificateFingerprint(cert)}`);
  if (!pushSubject) console.log('push notifications: off until push.subject is set in the config (a mailto: or https: contact for push services)');
}

async function start(values: Values): Promise<void> {
  const config = loadConfig(need(values, 'config'));
  const server = await startServer(config);
  console.log(`twinbox-server listening on ${server.host}:${server.port} (pid ${process.pid})`);
  if (server.smtpPort) console.log(`twinbox-server smtp on ${config.smtp!.host}:${server.smtpPort}`);
  if (server.metricsPort) console.log(`twinbox-server metrics on http://${config.metrics!.listen!.host}:${server.metricsPort}/metrics`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Run `fn` with the config's store open (closed after, whatever happens). */
function withStore<T>(values: Values, fn: (store: ServerStore, config: ServerConfig) => T): T {
  const config = loadConfig(need(values, 'config'));
  const store = ServerStore.open(config.database);
  try {
    return fn(store, config);
  } finally {
    store.close();
  }
}

/**
 * The pairing secrets as the agent's `pair --secrets-file` / `--secrets-stdin` read them: `name=value`
 * lines (the agent's IMAP and SMTP passwords may be added as `imap-password=` and `smtp-password=`).
 */
function secretLines(pairing: { token: string; triggerSecret: string }): string {
  return `token=${pairing.token}\ntrigger-secret=${pairing.triggerSecret}\n`;
}

/** Write a new file only its owner can read; an existing file is never overwritten (it may be someone's). */
function writeSecretsFile(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    throw new Error(`cannot write the secrets file ${path}: ${(err as Error).message} (name a new file in an existing folder)`, { cause: err });
  }
  try {
    chmodSync(path, 0o600); // whatever the umask
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function accountAdd(values: Values): void {
  const policy = values['conflict-policy'] ?? 'desktop';
  if (policy !== 'desktop' && policy !== 'phone') throw new UsageError('--conflict-policy must be desktop or phone');
  const secretsFile = values['secrets-file'];
  if (secretsFile !== undefined && values.json) throw new UsageError('--secrets-file and --json are two ways to take the secrets: give one');
  if (secretsFile !== undefined && existsSync(secretsFile)) throw new UsageError(`--secrets-file ${secretsFile} exists already; name a new file`);
  withStore(values, (store, config) => {
    const { account, token } = store.accounts.add({
      id: need(values, 'id'),
      desktopAddress: need(values, 'desktop'),
      ...(values.phone ? { phoneAddress: values.phone } : {}),
      ...(values.window ? { window: Number(values.window) } : {}),
      unreadFirst: values['unread-first'] ?? false,
      conflictPolicy: policy,
    });
    const pairing = {
      server: publicUrlOf(config),
      account: account.id,
      token,
      fingerprint: certificateFingerprint(config.tls.cert),
      triggerSecret: account.triggerSecret,
    };
    if (values.json) return void console.log(JSON.stringify(pairing));
    const comment = `# Twinbox pairing secrets of account ${account.id} on ${pairing.server} (for twinbox-agent pair)\n`;
    if (secretsFile !== undefined) {
      try {
        writeSecretsFile(secretsFile, comment + secretLines(pairing));
      } catch (err) {
        store.accounts.remove(account.id); // its token would be lost: as if never added
        throw err;
      }
    }
    console.log(`account ${account.id} added (window ${account.window}, phone address ${account.phoneAddress}).`);
    // The command carries no secret: pasted into a shell, nothing shows in `ps`.
    const pair = `twinbox-agent pair --config agent.json --server=${pairing.server} --account=${pairing.account} --fingerprint=${pairing.fingerprint}`;
    const mail = '--imap-host HOST --imap-user USER [--smtp-host HOST --smtp-user USER]';
    if (secretsFile !== undefined) {
      console.log(`The agent token and trigger secret (shown nowhere else) are in ${secretsFile} (mode 0600). Copy it to the desktop and pair with:`);
      console.log(`  ${pair} \\`);
      console.log(`    --secrets-file ${secretsFile} ${mail}`);
      console.log('(the IMAP and SMTP passwords: imap-password=… and smtp-password=… lines added to the file, or on standard input with --secrets-stdin)');
      return;
    }
    console.log('Pair the desktop agent with (the token is shown only now):');
    console.log(`  ${pair} \\`);
    console.log(`    --secrets-stdin ${mail}`);
    console.log('and give it these lines on standard input, with imap-password=… (and smtp-password=…) after them:');
    for (const line of secretLines(pairing).trimEnd().split('\n')) console.log(`  ${line}`);
  });
}

function accountList(values: Values): void {
  withStore(values, (store) => {
    for (const account of store.accounts.list()) {
      const sync = store.syncStates.get(account.id);
      const last = sync.lastSyncAt ? new Date(sync.lastSyncAt).toISOString() : 'never';
      console.log(`${account.id}\twindow ${account.window}\tinbox ${store.messages.count(account.id, 'inbox')}\tpending ${store.actions.count(account.id)}\tlast sync ${last}`);
    }
  });
}

/** Where the phone opens the web app: appUrl, else the sync endpoint's https:// origin. */
function appUrlOf(config: ServerConfig): string {
  if (config.appUrl) return config.appUrl.endsWith('/') ? config.appUrl : `${config.appUrl}/`;
  const sync = new URL(publicUrlOf(config));
  return `https://${sync.host}/`;
}

/** The code travels in the fragment: it never reaches a server log, a proxy or a Referer header. */
function signInLink(config: ServerConfig, code: string): string {
  return `${appUrlOf(config)}#signin=${code}`;
}

function withAccount<T>(values: Values, fn: (store: ServerStore, config: ServerConfig, accountId: string) => T): T {
  return withStore(values, (store, config) => {
    const accountId = need(values, 'id');
    if (!store.accounts.get(accountId)) throw new Error(`no account ${accountId}`);
    return fn(store, config, accountId);
  });
}

function deviceNumber(values: Values): number {
  const id = Number(need(values, 'device'));
  if (!Number.isSafeInteger(id) || id <= 0) throw new UsageError('--device must be a device number (see `device list`)');
  return id;
}

function printSignIn(link: string): void {
  const minutes = SIGNIN_CODE_TTL_MS / 60_000;
  console.log(`Open this link on the phone within ${minutes} minutes (it works once):`);
  console.log(`  ${link}`);
  if (process.stdout.isTTY) qrcode.generate(link, { small: true }, (qr) => console.log(qr));
}

function deviceAdd(values: Values): void {
  withAccount(values, (store, config, accountId) => {
    const { device, token } = store.devices.add(accountId, values.name ?? 'phone');
    const link = signInLink(config, store.devices.signInCode(device.id));
    if (values.json) return void console.log(JSON.stringify({ account: accountId, device: device.id, token, signInUrl: link }));
    console.log(`device ${device.id} (${device.name}) added to account ${accountId}.`);
    printSignIn(link);
    console.log('For programs, its API token (shown only now), sent as "Authorization: Bearer <token>" to /api/v1/…:');
    console.log(`  ${token}`);
  });
}

function deviceLink(values: Values): void {
  withAccount(values, (store, config, accountId) => {
    const id = deviceNumber(values);
    if (!store.devices.get(accountId, id)) throw new Error(`account ${accountId} has no device ${id}`);
    const link = signInLink(config, store.devices.signInCode(id));
    if (values.json) return void console.log(JSON.stringify({ account: accountId, device: id, signInUrl: link }));
    printSignIn(link);
  });
}

function deviceList(values: Values): void {
  withAccount(values, (store, _config, accountId) => {
    const devices = store.devices.list(accountId);
    if (values.json) return void console.log(JSON.stringify(devices));
    if (devices.length === 0) console.log(`account ${accountId} has no devices`);
    for (const d of devices) {
      const seen = d.lastSeenAt ? new Date(d.lastSeenAt).toISOString() : 'never';
      console.log(`${d.id}\t${d.name}\tadded ${new Date(d.createdAt).toISOString()}\tlast seen ${seen}\tsigned-in browsers ${d.sessions}`);
    }
  });
}

function deviceRevoke(values: Values): void {
  withAccount(values, (store, _config, accountId) => {
    const id = deviceNumber(values);
    if (!store.devices.revoke(accountId, id)) throw new Error(`account ${accountId} has no device ${id}`);
    console.log(`device ${id} revoked: its token and sessions no longer work, and its open web app is signed out.`);
  });
}

function accountRemove(values: Values): void {
  withAccount(values, (store, _config, id) => {
    const messages = (['inbox', 'trash', 'sent', 'outbox'] as const).reduce((n, f) => n + store.messages.count(id, f), 0);
    store.accounts.remove(id);
    releaseFreePages(store.db);
    console.log(`account ${id} removed with its ${messages} phone messages, devices, sessions and sync state; its agent can no longer log in.`);
  });
}

function housekeeping(values: Values): void {
  withStore(values, (store, config) => {
    const report = runHousekeeping(store, config.retention, createLogger('server'));
    if (values.json) return void console.log(JSON.stringify(report));
    const accounts = Object.entries(report.accounts);
    if (accounts.length === 0) console.log('housekeeping: nothing to remove');
    for (const [id, done] of accounts) {
      const expired = done.trashExpired > 0 ? ` (${done.trashExpired} also from the desktop Trash at its next sync, where still there)` : ' (the desktop keeps its copies)';
      console.log(`${id}: ${done.trashDropped} Trash copies dropped from the phone${expired}, ${done.sentRemoved} Sent copies removed from the phone`);
    }
    console.log(`${report.pagesFreed} free database pages given back`);
  });
}

const COMMANDS: Record<string, (values: Values) => void | Promise<void>> = {
  init: init,
  start: start,
  'account add': accountAdd,
  'account list': accountList,
  'account remove': accountRemove,
  housekeeping: housekeeping,
  'device add': deviceAdd,
  'device link': deviceLink,
  'device list': deviceList,
  'device revoke': deviceRevoke,
};

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: OPTIONS, allowPositionals: true });
  const command = positionals.join(' ');
  if (values.help || command === '') return void console.log(USAGE);
  const handler = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!handler) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  await handler(values);
}

main().catch((err: unknown) => {
  const code = err instanceof TwinboxError ? ` [${err.code}${err.retryable ? ', retryable' : ''}]` : '';
  console.error(`twinbox-server: ${(err as Error).message}${code}`);
  if (err instanceof UsageError) console.error(USAGE);
  // The agent's exit statuses (README "Configuration"): a bad config (CONFIG) is 1, a retryable failure 75.
  process.exit(err instanceof UsageError ? 64 : err instanceof TwinboxError && err.retryable ? 75 : 1);
});
