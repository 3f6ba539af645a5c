#!/usr/bin/env node
/**
 * twinbox-agent — the Twinbox desktop agent. Its commands, their options and
 * their help are the table below; the command line's style, exit statuses
 * and signal handling are the program shell's (@twinbox/cli): 0 done, 1
 * failed, 64 usage error, 75 failed but worth retrying. README "Running it
 * for real" is the walkthrough; docs/trust.md the server pins.
 */
import { resolve } from 'node:path';
import { EXIT, UsageError, packageVersion, parseCommandLine, required, runProgram, type ParsedValues } from '@twinbox/cli';
import { PROTOCOL_VERSION } from '@twinbox/protocol';
import { loadAgentConfig } from './config.js';
import { createLogger } from './log.js';
import { progressBar, progressQuietMs, throttled, type ProgressSink } from './progress.js';
import { checkSchedule, DEFAULT_SCHEDULE } from './schedule.js';

const OPTIONS = {
  config: { type: 'string' },
  server: { type: 'string' },
  account: { type: 'string' },
  token: { type: 'string' },
  pin: { type: 'string', multiple: true },
  'backup-pin': { type: 'string', multiple: true },
  fingerprint: { type: 'string' },
  yes: { type: 'boolean' },
  'trigger-secret': { type: 'string' },
  database: { type: 'string' },
  'imap-host': { type: 'string' },
  'imap-port': { type: 'string' },
  'imap-plain': { type: 'boolean' },
  'imap-security': { type: 'string' },
  'imap-user': { type: 'string' },
  'imap-password': { type: 'string' },
  'imap-allow-invalid-cert': { type: 'boolean' },
  'smtp-host': { type: 'string' },
  'smtp-port': { type: 'string' },
  'smtp-security': { type: 'string' },
  'smtp-tls': { type: 'boolean' },
  'smtp-user': { type: 'string' },
  'smtp-password': { type: 'string' },
  'secrets-stdin': { type: 'boolean' },
  'secrets-file': { type: 'string' },
  json: { type: 'boolean' },
  retry: { type: 'string' },
  'retry-all': { type: 'boolean' },
  schedule: { type: 'string' },
  'no-push': { type: 'boolean' },
  'no-triggers': { type: 'boolean' },
  'no-startup-sync': { type: 'boolean' },
  'no-desktop-push': { type: 'boolean' },
  'no-check': { type: 'boolean' },
  'unit-dir': { type: 'string' },
  proxy: { type: 'string' },
} as const;

type Values = ParsedValues<typeof OPTIONS>;
type Option = keyof typeof OPTIONS;

interface Command {
  /** The command line after `twinbox-agent`, as --help shows it. */
  usage: string;
  about: string;
  options: readonly Option[];
  run(values: Values): void | Promise<void>;
}

const PAIR_OPTIONS = [
  'config', 'server', 'account', 'token', 'pin', 'fingerprint', 'trigger-secret', 'database', 'imap-host', 'imap-port', 'imap-plain', 'imap-security', 'imap-user',
  'imap-password', 'imap-allow-invalid-cert', 'smtp-host', 'smtp-port', 'smtp-security', 'smtp-tls', 'smtp-user', 'smtp-password', 'secrets-stdin', 'secrets-file',
  'no-check', 'proxy', 'json',
] as const satisfies readonly Option[];

const COMMANDS: Record<string, Command> = {
  pair: {
    usage: `pair --config FILE --server wss://HOST:PORT/sync --account ID --pin sha256//… [--pin sha256//…]
       --imap-host HOST [--imap-port 993] [--imap-security tls|starttls|plain] --imap-user USER
       [--smtp-host HOST [--smtp-port 587] [--smtp-security starttls|tls|plain] [--smtp-user USER]]
       [--secrets-file PATH] [--secrets-stdin] [--database agent.db] [--imap-allow-invalid-cert]
       [--proxy http://[USER:PASSWORD@]HOST:PORT | direct] [--no-check] [--json]`,
    about: `write the agent's config, after testing the server link (key pin and token), the IMAP login and SMTP.
       The pins are those \`twinbox-server account add\` prints (the server's key and its backup key).
       Secrets (token=, trigger-secret=, imap-password=, smtp-password= lines) come from --secrets-file (a file
       only you may read) and --secrets-stdin, or TWINBOX_TOKEN, TWINBOX_TRIGGER_SECRET, TWINBOX_IMAP_PASSWORD,
       TWINBOX_SMTP_PASSWORD — never put them on a command line, where ps shows them to every user.`,
    options: PAIR_OPTIONS,
    run: async (v) => (await import('./commands/pair.js')).pair(v),
  },
  run: {
    usage: 'run --config FILE [--schedule "*/5 * * * *"|off] [--no-push] [--no-triggers] [--no-startup-sync] [--no-desktop-push] [--json]',
    about: 'the background agent: syncs on its schedule, when the desktop mailbox changes, on trigger e-mails, on phone changes and when asked (twinbox-agent sync).\n       It prints one JSON line per event on stdout (--json changes nothing) and logs to stderr.',
    options: ['config', 'schedule', 'no-push', 'no-triggers', 'no-startup-sync', 'no-desktop-push', 'json'],
    run: runAgent,
  },
  sync: {
    usage: 'sync --config FILE [--json]',
    about: 'one sync now, and its outcome (exit 0, 1, or 75 to retry); asks the running agent when there is one',
    options: ['config', 'json'],
    run: sync,
  },
  status: {
    usage: 'status --config FILE [--json]',
    about: 'the background agent, the last sync and its outcome, the last error, pending actions, the IMAP code paths',
    options: ['config', 'json'],
    run: async (v) => (await import('./commands/state.js')).status(v),
  },
  doctor: {
    usage: 'doctor --config FILE [--json]',
    about: 'check the config (the schedule too), IMAP, SMTP and the server link; show folders and code paths (exit 1 if a check fails)',
    options: ['config', 'json'],
    run: doctor,
  },
  quarantine: {
    usage: 'quarantine --config FILE [--retry ID | --retry-all] [--json]',
    about: 'changes set aside after failing again and again for reasons of their message; try them again',
    options: ['config', 'retry', 'retry-all', 'json'],
    run: async (v) => (await import('./commands/state.js')).quarantine(v),
  },
  repin: {
    usage: 'repin --config FILE [--pin sha256//… | --yes] [--backup-pin sha256//…] [--json]',
    about: "trust the server's new key: shows it and asks (on a terminal); --pin trusts it only if it is that one, --yes trusts it as presented",
    options: ['config', 'pin', 'backup-pin', 'yes', 'json'],
    run: async (v) => {
      if ((v.pin?.length ?? 0) > 1) throw new UsageError('repin trusts one key: give --pin once (and --backup-pin for a spare)', 'repin');
      await (await import('./commands/repin.js')).repin({ ...v, pin: v.pin?.[0] });
    },
  },
  secrets: {
    usage: 'secrets --config FILE (--secrets-file PATH | --secrets-stdin) [--no-check] [--json]',
    about: 'take new secrets (a reissued token, a changed password: token=, trigger-secret=, imap-password=, smtp-password= lines), tested before written',
    options: ['config', 'secrets-file', 'secrets-stdin', 'no-check', 'json'],
    run: async (v) => (await import('./commands/pair.js')).secrets(v),
  },
  'install-service': {
    usage: 'install-service --config FILE [--unit-dir DIR] [--schedule CRON] [--json]',
    about: 'write a systemd user unit that runs the agent, and say how to enable it',
    options: ['config', 'unit-dir', 'schedule', 'json'],
    run: installService,
  },
};

const VERSION = packageVersion(new URL('../package.json', import.meta.url));

function usage(command?: string): string {
  const shown = command ? [command] : Object.keys(COMMANDS);
  const lines = shown.flatMap((name) => [`  twinbox-agent ${COMMANDS[name]!.usage}`, `       ${COMMANDS[name]!.about}`, '']);
  return `usage:\n${lines.join('\n')}  twinbox-agent --version [--json]\n\nExit status: 0 done, 1 failed, 64 usage error, 75 failed but worth retrying later.`;
}

async function sync(values: Values): Promise<void> {
  const config = loadAgentConfig(required(values, 'config', 'sync'));
  const { syncOnce } = await import('./one-off-sync.js');
  const { summary, ranBy } = await syncOnce(config, createLogger('agent'), progressOutput(Boolean(values.json)));
  if (values.json) return void console.log(JSON.stringify({ ...summary, ...(ranBy ? { ranBy } : { maxRssKb: process.resourceUsage().maxRSS }) }));
  const by = ranBy ? ` (run by the ${ranBy.role === 'run' ? 'background agent' : 'sync under way'}, pid ${ranBy.pid})` : '';
  console.log(
    `sync ${summary.syncNo} (${summary.mode}) complete in ${summary.durationMs} ms${by}: ` +
      `${summary.agentActions} desktop changes sent, ${summary.serverActions} phone changes applied, ` +
      `${summary.insertedOnDesktop} messages added to the desktop, ${summary.unmapped} left the phone window, ${summary.pulled} pulled to the phone; ` +
      `desktop INBOX ${summary.desktopInbox}, phone window ${summary.phoneWindow}; ` +
      `${summary.wire.framesSent + summary.wire.framesReceived} frames, ${summary.wire.bytesSent + summary.wire.bytesReceived} bytes`,
  );
}

/**
 * Progress of a long one-off sync: JSON lines on stdout with --json, a bar on
 * a terminal's stderr otherwise (cleared when done); nothing for a sync that
 * takes less than a second.
 */
function progressOutput(json: boolean): ProgressSink | undefined {
  if (json) return throttled((p) => console.log(JSON.stringify({ event: 'progress', ...p })), { quietMs: progressQuietMs(), everyMs: 500 });
  if (!process.stderr.isTTY) return undefined;
  process.once('beforeExit', () => process.stderr.write('\r\x1b[2K'));
  return throttled((p) => process.stderr.write(`\r\x1b[2K${progressBar(p)}`), { quietMs: progressQuietMs(), everyMs: 100 });
}

async function runAgent(values: Values): Promise<void> {
  const config = loadAgentConfig(required(values, 'config', 'run'));
  const schedule = await checkSchedule(values.schedule ?? config.schedule ?? DEFAULT_SCHEDULE, values.schedule !== undefined ? '--schedule' : `agent config ${config.path}`);
  // Loaded here, not at start: a one-off `twinbox-agent sync` need not load the scheduler (its start-up time).
  const { runDaemon } = await import('./daemon/daemon.js');
  await runDaemon(config, { schedule, push: !values['no-push'], triggers: !values['no-triggers'], startupSync: !values['no-startup-sync'], desktopPush: !values['no-desktop-push'] }, createLogger('agent'));
}

async function doctor(values: Values): Promise<void> {
  const config = loadAgentConfig(required(values, 'config', 'doctor'));
  // What `run` would refuse is refused here too (a config mistake is CONFIG, exit 1, before any check).
  await checkSchedule(config.schedule ?? DEFAULT_SCHEDULE, `agent config ${config.path}`);
  const { formatDoctor, runDoctor } = await import('./doctor.js');
  // The agent's identity without creating its database: doctor changes nothing.
  const checks = await runDoctor(config, 'twinbox-doctor');
  console.log(values.json ? JSON.stringify({ ok: checks.every((c) => c.ok), checks }) : formatDoctor(checks));
  if (!checks.every((c) => c.ok)) process.exitCode = EXIT.failed;
}

async function installService(values: Values): Promise<void> {
  const path = resolve(required(values, 'config', 'install-service'));
  const config = loadAgentConfig(path);
  if (values.schedule !== undefined) await checkSchedule(values.schedule, '--schedule');
  else await checkSchedule(config.schedule ?? DEFAULT_SCHEDULE, `agent config ${path}`);
  const { installUnit } = await import('./service-unit.js');
  const unit = installUnit({
    config: path,
    account: config.account,
    ...(values['unit-dir'] ? { unitDir: values['unit-dir'] } : {}),
    ...(values.schedule ? { runArgs: ['--schedule', values.schedule] } : {}),
  });
  if (values.json) return void console.log(JSON.stringify({ unit: unit.path, name: unit.name }));
  console.log(`wrote ${unit.path}. To start the agent now and with every login:`);
  console.log('  systemctl --user daemon-reload');
  console.log(`  systemctl --user enable --now ${unit.name}`);
  console.log('To keep it running when you are logged out (and start it at boot):');
  console.log('  loginctl enable-linger "$USER"');
  console.log(`Its log: journalctl --user -u ${unit.name} -f    its state: twinbox-agent status --config ${path}`);
}

async function main(): Promise<void> {
  const options = Object.fromEntries(Object.entries(COMMANDS).map(([name, c]) => [name, c.options]));
  const { command, values, help, version } = parseCommandLine(process.argv.slice(2), OPTIONS, options);
  if (version) {
    return void console.log(values.json ? JSON.stringify({ program: 'twinbox-agent', version: VERSION, protocol: PROTOCOL_VERSION }) : `twinbox-agent ${VERSION} (protocol ${PROTOCOL_VERSION})`);
  }
  if (help) return void console.log(usage(command));
  if (command === undefined) throw new UsageError(`a command is needed: ${Object.keys(COMMANDS).join(', ')}`);
  await COMMANDS[command]!.run(values);
}

runProgram('twinbox-agent', main, (signal) => createLogger('agent').warn(`${signal} ignored: ask the running agent for a sync with twinbox-agent sync`));
