#!/usr/bin/env node
/**
 * twinbox-agent — the Twinbox desktop agent.
 *
 *   twinbox-agent pair --config FILE --server wss://HOST:PORT/sync --account ID --token T --fingerprint FP
 *                      --imap-host H [--imap-port 993] [--imap-security tls|starttls|plain] --imap-user U --imap-password P
 *                      [--trigger-secret S] [--database agent.db] [--imap-allow-invalid-cert]
 *                      [--smtp-host H [--smtp-port 587] [--smtp-security starttls|tls|plain] [--smtp-user U --smtp-password P]]
 *                      [--secrets-file PATH]  (token=, trigger-secret=, imap-password=, smtp-password= lines in a file
 *                                              only its owner may read, as `twinbox-server account add --secrets-file` writes it)
 *                      [--secrets-stdin]      (the same lines on standard input; secrets also from TWINBOX_TOKEN, …,
 *                                              instead of the command line, which `ps` shows to every user)
 *                      [--no-check]           (write without first testing the server link, IMAP and SMTP)
 *                      [--proxy URL|direct]   (an HTTP proxy to the server; default HTTPS_PROXY/NO_PROXY)
 *   twinbox-agent run --config FILE [--schedule CRON|off] [--no-push] [--no-triggers]   the background agent
 *   twinbox-agent sync --config FILE [--json]     run one sync session and print a summary
 *                                                 (asks the running agent instead, if there is one)
 *   twinbox-agent status --config FILE [--json]   the background agent, the last sync and its outcome, the last
 *                                                 error, pending actions, the window, the IMAP code paths
 *   twinbox-agent doctor --config FILE [--json]   check IMAP, SMTP and the server link; folders and code paths
 *   twinbox-agent quarantine --config FILE [--retry ID|--retry-all] [--json]   changes set aside after failing again
 *                                                 and again for reasons of their message; try them again
 *   twinbox-agent install-service --config FILE [--unit-dir DIR] [--schedule CRON]   a systemd user unit for `run`
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TwinboxError } from '@twinbox/protocol';
import { loadAgentConfig, writeAgentConfig } from './config.js';
import { TRANSPORT_SECURITY, defaultPort, type TransportSecurity } from '@twinbox/protocol';
import { acquireLock, lockHolder, lockPathOf } from './daemon/lock.js';
import { describeFallbacks, ImapFallbacks } from './imap/fallbacks.js';
import { createLogger } from './log.js';
import { progressBar, progressQuietMs, throttled, type Progress, type ProgressSink } from './progress.js';
import { AgentStore, type QuarantineRow } from './store/agent-store.js';
import { runSync } from './sync.js';

const USAGE = `usage:
  twinbox-agent pair --config FILE --server wss://HOST:PORT/sync --account ID --token TOKEN --fingerprint FP
                     --imap-host HOST [--imap-port 993] [--imap-security tls|starttls|plain] --imap-user USER --imap-password PASSWORD
                     [--trigger-secret S] [--database agent.db] [--imap-allow-invalid-cert]
                     [--smtp-host HOST [--smtp-port 587] [--smtp-security starttls|tls|plain] [--smtp-user USER --smtp-password PASSWORD]]
                     [--secrets-file PATH]   read token=, trigger-secret=, imap-password=, smtp-password= lines from a file (mode 0600)
                     [--secrets-stdin]   read such lines from standard input
                     (secrets may also come from TWINBOX_TOKEN, TWINBOX_TRIGGER_SECRET, TWINBOX_IMAP_PASSWORD,
                      TWINBOX_SMTP_PASSWORD; on the command line they are visible to other users in ps)
                     [--no-check]   write the config without first testing the server link, the IMAP login and SMTP
                     [--proxy http://[USER:PASSWORD@]HOST:PORT | direct]   the HTTP proxy to the server (default: HTTPS_PROXY, NO_PROXY)
  twinbox-agent run --config FILE [--schedule "*/5 * * * *"|off] [--no-push] [--no-triggers] [--no-startup-sync]
  twinbox-agent sync --config FILE [--json]
  twinbox-agent status --config FILE [--json]
  twinbox-agent doctor --config FILE [--json]   check IMAP, SMTP and the server link; show folders and code paths
  twinbox-agent quarantine --config FILE [--retry ID | --retry-all] [--json]   changes set aside (they kept failing); try them again
  twinbox-agent install-service --config FILE [--unit-dir DIR] [--schedule CRON]   write a systemd user unit that runs the agent`;

const OPTIONS = {
  config: { type: 'string' },
  server: { type: 'string' },
  account: { type: 'string' },
  token: { type: 'string' },
  fingerprint: { type: 'string' },
  'trigger-secret': { type: 'string' },
  database: { type: 'string' },
  'imap-host': { type: 'string' },
  'imap-port': { type: 'string' },
  'imap-plain': { type: 'boolean' },
  'imap-security': { type: 'string' },
  'smtp-security': { type: 'string' },
  'secrets-stdin': { type: 'boolean' },
  'secrets-file': { type: 'string' },
  'imap-user': { type: 'string' },
  'imap-password': { type: 'string' },
  'imap-allow-invalid-cert': { type: 'boolean' },
  'smtp-host': { type: 'string' },
  'smtp-port': { type: 'string' },
  'smtp-tls': { type: 'boolean' },
  'smtp-user': { type: 'string' },
  'smtp-password': { type: 'string' },
  json: { type: 'boolean' },
  retry: { type: 'string' },
  'retry-all': { type: 'boolean' },
  schedule: { type: 'string' },
  'no-push': { type: 'boolean' },
  'no-triggers': { type: 'boolean' },
  'no-startup-sync': { type: 'boolean' },
  'no-check': { type: 'boolean' },
  'unit-dir': { type: 'string' },
  proxy: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

function need(values: Values, name: keyof Values): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** Secrets `pair` can take without putting them on the command line (visible in `ps`): name → environment variable. */
const SECRETS = {
  token: 'TWINBOX_TOKEN',
  'trigger-secret': 'TWINBOX_TRIGGER_SECRET',
  'imap-password': 'TWINBOX_IMAP_PASSWORD',
  'smtp-password': 'TWINBOX_SMTP_PASSWORD',
} as const;
type SecretName = keyof typeof SECRETS;

/** `name=value` lines (for --secrets-file and --secrets-stdin); empty lines and `#` comments are skipped. */
function parseSecrets(text: string, source: string): Partial<Record<SecretName, string>> {
  const found: Partial<Record<SecretName, string>> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = line.slice(0, Math.max(0, eq)).trim();
    if (eq < 0 || !Object.hasOwn(SECRETS, name)) throw new UsageError(`${source}: expected lines NAME=VALUE with NAME one of ${Object.keys(SECRETS).join(', ')}`);
    found[name as SecretName] = line.slice(eq + 1); // as it is: a password may begin or end with a space
  }
  return found;
}

async function secretsFromStdin(): Promise<Partial<Record<SecretName, string>>> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return parseSecrets(Buffer.concat(chunks).toString('utf8'), '--secrets-stdin');
}

/** A secrets file no one but its owner may read or change (as ssh insists for its keys). */
function secretsFromFile(path: string): Partial<Record<SecretName, string>> {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw new TwinboxError('CONFIG', `--secrets-file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if ((mode & 0o077) !== 0) {
    throw new TwinboxError('CONFIG', `--secrets-file ${path} may be read by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 it, and make new pairing secrets if others could read it`);
  }
  return parseSecrets(readFileSync(path, 'utf8'), `--secrets-file ${path}`);
}

function securityOption(values: Values, name: 'imap-security' | 'smtp-security', fallback: TransportSecurity): TransportSecurity {
  const value = values[name];
  if (value === undefined) return fallback;
  if (!(TRANSPORT_SECURITY as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${TRANSPORT_SECURITY.join(', ')}`);
  return value as TransportSecurity;
}

async function pair(values: Values): Promise<void> {
  const path = need(values, 'config');
  if (values['imap-plain']) {
    throw new UsageError('--imap-plain is gone: use --imap-security starttls (STARTTLS, required) or --imap-security plain (no encryption at all)');
  }
  const fromFile = values['secrets-file'] !== undefined ? secretsFromFile(values['secrets-file']) : {};
  const fromStdin = values['secrets-stdin'] ? await secretsFromStdin() : {};
  // The command line, else standard input, else the secrets file, else the environment.
  const secret = (name: SecretName): string | undefined => values[name] ?? fromStdin[name] ?? fromFile[name] ?? process.env[SECRETS[name]];
  const needSecret = (name: SecretName): string => {
    const value = secret(name);
    if (!value) throw new UsageError(`--${name} is required (or ${SECRETS[name]} in the environment, or ${name}=… with --secrets-stdin or in --secrets-file)`);
    return value;
  };
  const imapSecurity = securityOption(values, 'imap-security', 'tls');
  const port = Number(values['imap-port'] ?? defaultPort.imap[imapSecurity]);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new UsageError('--imap-port must be 1..65535');
  const smtpSecurity = values['smtp-tls'] ? 'tls' : securityOption(values, 'smtp-security', 'starttls');
  const url = need(values, 'server');
  if (!url.startsWith('wss://')) throw new UsageError('--server must be a wss:// URL (the sync connection is always TLS)');
  const triggerSecret = secret('trigger-secret');
  const fingerprint = need(values, 'fingerprint');
  // The SHA-256 fingerprint `twinbox-server init` prints: 32 bytes as colon-separated hex pairs.
  if (!/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/.test(fingerprint)) {
    throw new UsageError('--fingerprint must be the SHA-256 fingerprint the server printed (32 hex pairs: AB:CD:…)');
  }
  const config = {
    server: { url, fingerprint, ...(values.proxy ? { proxy: values.proxy } : {}) },
    account: need(values, 'account'),
    token: needSecret('token'),
    ...(triggerSecret ? { triggerSecret } : {}),
    imap: {
      host: need(values, 'imap-host'),
      port,
      security: imapSecurity,
      user: need(values, 'imap-user'),
      password: needSecret('imap-password'),
      ...(values['imap-allow-invalid-cert'] ? { allowInvalidCertificate: true } : {}),
    },
    ...(values['smtp-host']
      ? {
          smtp: {
            host: values['smtp-host'],
            port: Number(values['smtp-port'] ?? defaultPort.smtp[smtpSecurity]),
            security: smtpSecurity,
            ...(values['smtp-user'] ? { user: values['smtp-user'], password: secret('smtp-password') ?? '' } : {}),
          },
        }
      : {}),
    database: values.database ?? 'agent.db',
  };
  // Nothing is written until the server link (pinned certificate, token), the IMAP login and SMTP work (issue 13).
  if (!values['no-check']) {
    const { runDoctor } = await import('./doctor.js');
    const checks = await runDoctor(config, 'pairing-check');
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0) {
      for (const check of failed) console.error(`twinbox-agent: ${check.name}: ${check.error?.message ?? 'failed'} [${check.error?.code ?? 'ERROR'}]`);
      console.error(`twinbox-agent: nothing written to ${path}: fix the above (or pass --no-check to write it untested)`);
      process.exitCode = 1;
      return;
    }
    for (const check of checks) console.log(`ok ${check.name}: ${check.detail[0] ?? ''}`);
  }
  writeAgentConfig(path, config);
  if (imapSecurity === 'plain' || (values['smtp-host'] && smtpSecurity === 'plain')) {
    console.error('twinbox-agent: warning: you chose a connection without encryption; passwords and mail cross the network in clear');
  }
  console.log(`wrote ${path}; run: twinbox-agent sync --config ${path}`);
}

async function sync(values: Values): Promise<void> {
  const config = loadAgentConfig(need(values, 'config'));
  const running = lockHolder(lockPathOf(config));
  if (running) {
    process.kill(running, 'SIGUSR1');
    console.log(`asked the running agent (pid ${running}) to sync; its output reports the result`);
    return;
  }
  const release = acquireLock(lockPathOf(config));
  const store = AgentStore.open(config.database);
  try {
    const summary = await runSync(config, store, createLogger('agent'), { onProgress: progressOutput(Boolean(values.json)) });
    if (values.json) return void console.log(JSON.stringify({ ...summary, maxRssKb: process.resourceUsage().maxRSS }));
    console.log(
      `sync ${summary.syncNo} (${summary.mode}) complete in ${summary.durationMs} ms: ` +
        `${summary.agentActions} desktop changes sent, ${summary.serverActions} phone changes applied, ` +
        `${summary.insertedOnDesktop} messages added to the desktop, ${summary.unmapped} left the phone window, ${summary.pulled} pulled to the phone; ` +
        `desktop INBOX ${summary.desktopInbox}, phone window ${summary.phoneWindow}; ` +
        `${summary.wire.framesSent + summary.wire.framesReceived} frames, ${summary.wire.bytesSent + summary.wire.bytesReceived} bytes`,
    );
  } finally {
    store.close();
    release();
  }
}

/**
 * Progress of a long one-off sync (issue 11): JSON lines on stdout with
 * --json, a bar on a terminal's stderr otherwise (cleared when done); nothing
 * for a sync that takes less than a second.
 */
function progressOutput(json: boolean): ProgressSink | undefined {
  if (json) return throttled((p) => console.log(JSON.stringify({ event: 'progress', ...p })), { quietMs: progressQuietMs(), everyMs: 500 });
  if (!process.stderr.isTTY) return undefined;
  process.once('beforeExit', () => process.stderr.write('\r\x1b[2K'));
  return throttled((p) => process.stderr.write(`\r\x1b[2K${progressBar(p)}`), { quietMs: progressQuietMs(), everyMs: 100 });
}

async function run(values: Values): Promise<void> {
  const config = loadAgentConfig(need(values, 'config'));
  // Loaded here, not at start: a one-off `twinbox-agent sync` need not load the scheduler (issue 11: start-up time).
  const { DEFAULT_SCHEDULE, runDaemon } = await import('./daemon/daemon.js');
  await runDaemon(
    config,
    {
      schedule: values.schedule ?? config.schedule ?? DEFAULT_SCHEDULE,
      push: !values['no-push'],
      triggers: !values['no-triggers'],
      startupSync: !values['no-startup-sync'],
    },
    createLogger('agent'),
  );
}

function status(values: Values): void {
  const config = loadAgentConfig(need(values, 'config'));
  if (!existsSync(config.database)) {
    console.log(values.json ? JSON.stringify({ paired: true, synced: false }) : 'paired; never synced');
    return;
  }
  const store = AgentStore.open(config.database);
  try {
    const lastAt = store.getMeta('lastSyncAt');
    const running = lockHolder(lockPathOf(config));
    // How far the sync under way has come, as the syncing process last recorded it (a stale record is no sync).
    const recorded = store.getMeta('progress');
    const progress = running && recorded ? (JSON.parse(recorded) as Progress & { at: number }) : undefined;
    const syncing = progress && Date.now() - progress.at < 30_000 ? { stage: progress.stage, done: progress.done, total: progress.total } : null;
    const outcome = JSON.parse(store.getMeta('lastOutcome') ?? 'null') as { ok: boolean; at: number; code?: string; message?: string } | null;
    const stats = JSON.parse(store.getMeta('lastStats') ?? 'null') as Record<string, unknown> | null;
    const info = {
      agentPid: running ?? null,
      syncing,
      account: config.account,
      server: config.server.url,
      lastSyncNo: Number(store.getMeta('lastSyncNo') ?? 0),
      lastSyncAt: lastAt ? new Date(Number(lastAt)).toISOString() : null,
      lastSyncStats: stats,
      lastAttempt: outcome ? { ok: outcome.ok, at: new Date(outcome.at).toISOString() } : null,
      lastError: outcome && !outcome.ok ? { code: outcome.code, message: outcome.message, at: new Date(outcome.at).toISOString() } : null,
      pendingActions: store.pendingCount(),
      desktopInbox: store.folderState('inbox')?.exists ?? null,
      trackedInbox: store.inboxCount(),
      phoneWindow: store.mappings('inbox').length,
      phoneTrash: store.mappings('trash').length,
      imapPaths: JSON.parse(store.getMeta('imapPaths') ?? 'null') as Record<string, string> | null,
      // Commands the IMAP server advertised and refused, and what the agent does instead (imap/fallbacks.ts).
      imapFallbacks: store.refusals(ImapFallbacks.serverOf(config.imap)).map(({ path, command, response, at }) => ({ path, command, response, at: new Date(at).toISOString() })),
      quarantine: store.quarantine().map(quarantineView),
    };
    if (values.json) return void console.log(JSON.stringify(info));
    console.log(`agent: ${running ? `running (pid ${running})` : 'not running'}`);
    console.log(`syncing: ${syncing ? progressBar(syncing) : 'no'}`);
    console.log(`account: ${info.account} at ${info.server}`);
    console.log(`last sync: ${info.lastSyncAt ? `${info.lastSyncNo} at ${info.lastSyncAt}` : 'never'}${stats ? ` (${stats.mode}: ${stats.agentActions} desktop changes, ${stats.serverActions} phone changes, ${stats.pulled} pulled)` : ''}`);
    console.log(`last attempt: ${info.lastAttempt ? `${info.lastAttempt.ok ? 'succeeded' : 'FAILED'} at ${info.lastAttempt.at}` : 'none'}`);
    if (info.lastError) console.log(`last error: ${info.lastError.message} [${info.lastError.code}]`);
    console.log(`pending actions: ${info.pendingActions}`);
    console.log(`desktop INBOX: ${info.desktopInbox ?? 'unknown'} (tracked ${info.trackedInbox}); phone window ${info.phoneWindow}, phone trash ${info.phoneTrash}`);
    const p = info.imapPaths;
    console.log(`IMAP code paths: ${p ? `changes by ${p.detection}; moves by ${p.move}; removals by ${p.expunge}; UIDNEXT from ${p.uidNext}; new UIDs by ${p.appendUid}` : 'not known yet'}`);
    for (const line of describeFallbacks(store.refusals(ImapFallbacks.serverOf(config.imap)))) console.log(`IMAP fallback: ${line}`);
    console.log(`quarantine: ${quarantineSummary(info.quarantine)}`);
    for (const q of info.quarantine) console.log(`  ${formatQuarantined(q)}`);
  } finally {
    store.close();
  }
}

/** One quarantine row as `status` and `quarantine` show it (docs/quarantine.md). */
function quarantineView(q: QuarantineRow) {
  return {
    id: q.id,
    state: q.held ? 'set aside' : 'retrying',
    direction: q.direction === 'toDesktop' ? 'phone change for the desktop' : 'desktop message for the phone',
    kind: q.kind,
    ...(q.phoneId !== null ? { phoneId: q.phoneId } : {}),
    ...(q.uid !== null ? { desktopUid: q.uid } : {}),
    attempts: q.attempts,
    error: q.error,
    since: new Date(q.firstAt).toISOString(),
    lastAttempt: new Date(q.lastAt).toISOString(),
  };
}

function quarantineSummary(rows: ReturnType<typeof quarantineView>[]): string {
  if (rows.length === 0) return 'nothing set aside';
  const held = rows.filter((r) => r.state === 'set aside').length;
  return `${held} set aside, ${rows.length - held} being retried (twinbox-agent quarantine --retry ID tries one again)`;
}

function formatQuarantined(q: ReturnType<typeof quarantineView>): string {
  const which = 'phoneId' in q ? `phone message ${q.phoneId}` : `desktop UID ${q.desktopUid}`;
  return `#${q.id} ${q.state}: ${q.kind} of ${which} (${q.direction}), ${q.attempts} attempt${q.attempts === 1 ? '' : 's'} since ${q.since}: ${q.error}`;
}

/** `twinbox-agent quarantine`: what was set aside, and trying it again (the next sync takes it up). */
function quarantine(values: Values): void {
  const config = loadAgentConfig(need(values, 'config'));
  if (!existsSync(config.database)) return void console.log(values.json ? JSON.stringify({ quarantine: [] }) : 'nothing set aside (never synced)');
  const store = AgentStore.open(config.database);
  try {
    if (values.retry !== undefined && values['retry-all']) throw new UsageError('give --retry ID or --retry-all, not both');
    if (values.retry !== undefined && !/^\d{1,15}$/.test(values.retry)) throw new UsageError(`--retry takes the number shown by twinbox-agent quarantine, not ${JSON.stringify(values.retry)}`);
    if (values.retry !== undefined || values['retry-all']) {
      const released = store.transaction(() => store.retryQuarantined(values.retry === undefined ? undefined : Number(values.retry)));
      if (values.retry !== undefined && released === 0) throw new TwinboxError('CONFIG', `nothing set aside with number ${values.retry} (see twinbox-agent quarantine)`);
      console.log(values.json ? JSON.stringify({ retried: released }) : `${released} set-aside change${released === 1 ? '' : 's'} will be tried again at the next sync`);
      return;
    }
    const rows = store.quarantine().map(quarantineView);
    if (values.json) return void console.log(JSON.stringify({ quarantine: rows }));
    console.log(quarantineSummary(rows));
    for (const q of rows) console.log(`  ${formatQuarantined(q)}`);
  } finally {
    store.close();
  }
}

async function doctor(values: Values): Promise<void> {
  const config = loadAgentConfig(need(values, 'config'));
  // The agent's identity without creating its database: doctor changes nothing.
  const { formatDoctor, runDoctor } = await import('./doctor.js');
  const checks = await runDoctor(config, 'twinbox-doctor');
  console.log(values.json ? JSON.stringify({ ok: checks.every((c) => c.ok), checks }) : formatDoctor(checks));
  if (!checks.every((c) => c.ok)) process.exitCode = 1;
}

async function installService(values: Values): Promise<void> {
  const path = resolve(need(values, 'config'));
  const config = loadAgentConfig(path);
  const { installUnit } = await import('./service-unit.js');
  const unit = installUnit({
    config: path,
    account: config.account,
    ...(values['unit-dir'] ? { unitDir: values['unit-dir'] } : {}),
    ...(values.schedule ? { runArgs: ['--schedule', values.schedule] } : {}),
  });
  console.log(`wrote ${unit.path}. To start the agent now and with every login:`);
  console.log('  systemctl --user daemon-reload');
  console.log(`  systemctl --user enable --now ${unit.name}`);
  console.log('To keep it running when you are logged out (and start it at boot):');
  console.log('  loginctl enable-linger "$USER"');
  console.log(`Its log: journalctl --user -u ${unit.name} -f    its state: twinbox-agent status --config ${path}`);
}

const COMMANDS: Record<string, (values: Values) => void | Promise<void>> = {
  pair: pair,
  doctor: doctor,
  sync: sync,
  run: run,
  status: status,
  quarantine: quarantine,
  'install-service': installService,
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
  console.error(`twinbox-agent: ${(err as Error).message}${code}`);
  if (err instanceof UsageError) console.error(USAGE);
  process.exit(err instanceof UsageError ? 64 : err instanceof TwinboxError && err.retryable ? 75 : 1);
});
