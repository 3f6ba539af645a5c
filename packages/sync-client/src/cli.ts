#!/usr/bin/env node
/**
 * twinbox-agent — the Twinbox desktop agent.
 *
 *   twinbox-agent pair --config FILE --server wss://HOST:PORT/sync --account ID --token T --fingerprint FP
 *                      --imap-host H [--imap-port 993] [--imap-plain] --imap-user U --imap-password P
 *                      [--trigger-secret S] [--database agent.db] [--imap-allow-invalid-cert]
 *                      [--smtp-host H [--smtp-port 587] [--smtp-tls] [--smtp-user U --smtp-password P]]
 *   twinbox-agent run --config FILE [--schedule CRON|off] [--no-push] [--no-triggers]   the background agent
 *   twinbox-agent sync --config FILE [--json]     run one sync session and print a summary
 *                                                 (asks the running agent instead, if there is one)
 *   twinbox-agent status --config FILE [--json]   what the agent knows: last sync, pending actions
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TwinboxError } from '@twinbox/protocol';
import { loadAgentConfig, writeAgentConfig } from './config.js';
import { DEFAULT_SCHEDULE, lockPathOf, runDaemon } from './daemon/daemon.js';
import { acquireLock, lockHolder } from './daemon/lock.js';
import { createLogger } from './log.js';
import { AgentStore } from './store/agent-store.js';
import { runSync } from './sync.js';

const USAGE = `usage:
  twinbox-agent pair --config FILE --server wss://HOST:PORT/sync --account ID --token TOKEN --fingerprint FP
                     --imap-host HOST [--imap-port 993] [--imap-plain] --imap-user USER --imap-password PASSWORD
                     [--trigger-secret S] [--database agent.db] [--imap-allow-invalid-cert]
                     [--smtp-host HOST [--smtp-port 587] [--smtp-tls] [--smtp-user USER --smtp-password PASSWORD]]
  twinbox-agent run --config FILE [--schedule "*/5 * * * *"|off] [--no-push] [--no-triggers] [--no-startup-sync]
  twinbox-agent sync --config FILE [--json]
  twinbox-agent status --config FILE [--json]`;

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
  'imap-user': { type: 'string' },
  'imap-password': { type: 'string' },
  'imap-allow-invalid-cert': { type: 'boolean' },
  'smtp-host': { type: 'string' },
  'smtp-port': { type: 'string' },
  'smtp-tls': { type: 'boolean' },
  'smtp-user': { type: 'string' },
  'smtp-password': { type: 'string' },
  json: { type: 'boolean' },
  schedule: { type: 'string' },
  'no-push': { type: 'boolean' },
  'no-triggers': { type: 'boolean' },
  'no-startup-sync': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

function need(values: Values, name: keyof Values): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

function pair(values: Values): void {
  const path = need(values, 'config');
  const plain = values['imap-plain'] ?? false;
  const port = Number(values['imap-port'] ?? (plain ? 143 : 993));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new UsageError('--imap-port must be 1..65535');
  const url = need(values, 'server');
  if (!url.startsWith('wss://')) throw new UsageError('--server must be a wss:// URL (the sync connection is always TLS)');
  writeAgentConfig(path, {
    server: { url, fingerprint: need(values, 'fingerprint') },
    account: need(values, 'account'),
    token: need(values, 'token'),
    ...(values['trigger-secret'] ? { triggerSecret: values['trigger-secret'] } : {}),
    imap: {
      host: need(values, 'imap-host'),
      port,
      secure: !plain,
      user: need(values, 'imap-user'),
      password: need(values, 'imap-password'),
      ...(values['imap-allow-invalid-cert'] ? { allowInvalidCertificate: true } : {}),
    },
    ...(values['smtp-host']
      ? {
          smtp: {
            host: values['smtp-host'],
            port: Number(values['smtp-port'] ?? (values['smtp-tls'] ? 465 : 587)),
            secure: values['smtp-tls'] ?? false,
            ...(values['smtp-user'] ? { user: values['smtp-user'], password: values['smtp-password'] ?? '' } : {}),
          },
        }
      : {}),
    database: values.database ?? 'agent.db',
  });
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
    const summary = await runSync(config, store, createLogger('agent'));
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

async function run(values: Values): Promise<void> {
  const config = loadAgentConfig(need(values, 'config'));
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
    const info = {
      account: config.account,
      server: config.server.url,
      lastSyncNo: Number(store.getMeta('lastSyncNo') ?? 0),
      lastSyncAt: lastAt ? new Date(Number(lastAt)).toISOString() : null,
      pendingActions: store.pendingCount(),
      desktopInbox: store.inboxCount(),
      phoneWindow: store.mappings('inbox').length,
      phoneTrash: store.mappings('trash').length,
    };
    if (values.json) return void console.log(JSON.stringify(info));
    for (const [key, value] of Object.entries(info)) console.log(`${key}: ${value ?? 'never'}`);
  } finally {
    store.close();
  }
}

const COMMANDS: Record<string, (values: Values) => void | Promise<void>> = {
  pair: pair,
  sync: sync,
  run: run,
  status: status,
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
