/**
 * The whole Twinbox system for an integration test, all real: a private
 * Dovecot, the sync server as its own process (HTTPS/WSS on a loopback port,
 * SQLite store, self-signed certificate made by `twinbox-server init`), and
 * the desktop agent run as its own process for each sync, paired through the
 * CLIs exactly as a user would. The phone side is driven through the phone
 * API (`PhoneMailbox`) on the server's database file, which this process
 * opens once the server has started (`store`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import nodemailer from 'nodemailer';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PhoneMailbox, ServerStore, relayMailer, type Folder, type InboundSmtpConfig, type ServerConfig } from '@twinbox/sync-server';
import type { SyncSummary } from '@twinbox/sync-client';
import { WITHOUT_PROXY_ENV } from './env.js';
import { DesktopClient } from './desktop-client.js';
import { AgentDaemon } from './agent-daemon.js';
import { freePort, startDovecot, type Dovecot, type DovecotOptions } from './dovecot.js';
import { defaultImapProfile, rewriteRulesOf, type ImapProfile } from './imap-profiles.js';
import { ImapRewriter, needsRewriter } from './imap-rewriter.js';
import { externalImapFromEnv, externalProfile, externalServerHandle } from './external-imap.js';
import { labelOfRaw } from './labels.js';
import { makeMessage, type TestMessage } from './mail.js';
import type { TestPushService, TestSubscription } from './push-service.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const SERVER_CLI = join(ROOT, 'packages/sync-server/dist/cli.js');
export const AGENT_CLI = join(ROOT, 'packages/sync-client/dist/cli.js');

export interface AccountSetup {
  window?: number;
  unreadFirst?: boolean;
  conflictPolicy?: 'desktop' | 'phone';
  /** false: the agent finds desktop changes by comparison, as with a server without QRESYNC. */
  qresync?: boolean;
  /** Extra environment for the server process (e.g. TWINBOX_LOG). */
  env?: NodeJS.ProcessEnv;
  /** The kind of IMAP server the desktop is (default: TWINBOX_IMAP_PROFILE, else `full`). */
  profile?: ImapProfile;
  /** Settings for the private Dovecot (e.g. dovecotRefusesMailOver). */
  dovecot?: DovecotOptions;
  /**
   * A postgres:// URL (an empty database: the testkit's private PostgreSQL, `createDatabase`): the server
   * stores there instead of its SQLite file (docs/scaling.md), and so does this process's phone API.
   */
  storeUrl?: string;
}

export interface Pairing {
  server: string;
  account: string;
  token: string;
  /** The server's key pins (the key in use, the backup key): docs/trust.md. */
  pins: string[];
  triggerSecret: string;
}

export interface AgentRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<AgentRun> {
  return new Promise((resolveRun) => {
    execFile(process.execPath, [file, ...args], { env: { ...process.env, ...WITHOUT_PROXY_ENV, ...env }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const e = error as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
      resolveRun({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

/** The server in `serverDir` stores in PostgreSQL at `url` (its config's `database` gives way to `store`). */
function useStore(serverDir: string, url: string): void {
  const path = join(serverDir, 'config.json');
  const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  delete config.database;
  config.store = { kind: 'postgres', url };
  writeFileSync(path, JSON.stringify(config, null, 2));
}

export class TwinboxSystem {
  private serverProcess: ChildProcess | undefined;
  /** Everything the server processes wrote to stderr (their log). */
  serverLog = '';
  private phoneStore: ServerStore | undefined;
  private storeOpening: Promise<ServerStore> | undefined;
  /** Where the server stores: its SQLite file, or a postgres:// URL (AccountSetup.storeUrl). */
  private storeTarget = '';
  /** Environment every start of the server process gets (a push service's certificate to trust). */
  private serverEnv: NodeJS.ProcessEnv = {};
  desktop!: DesktopClient;
  port = 0;

  private constructor(
    readonly dovecot: Dovecot,
    /** The desktop's outgoing mail server. */
    readonly smtp: SmtpSink,
    /** The relay the server sends the phone's direct mail through. */
    readonly relay: SmtpSink,
    readonly dir: string,
    readonly pairing: Pairing,
    /** Between the agent and Dovecot, when the profile needs it. */
    private readonly rewriter?: ImapRewriter,
  ) {}

  /** Where the agent reaches the desktop IMAP server. */
  get agentImapPort(): number {
    return this.rewriter?.port ?? this.dovecot.imapPort;
  }

  /** The commands the posed server refused so far (first line, without the tag), in order (imap-rewriter.ts). */
  get refusedImapCommands(): string[] {
    return this.rewriter?.refused ?? [];
  }

  /** The rewriting proxy between the agent and Dovecot, where the profile has one (its rules may be changed). */
  get imapRewriter(): ImapRewriter | undefined {
    return this.rewriter;
  }

  static async start(setup: AccountSetup = {}): Promise<TwinboxSystem> {
    const external = externalImapFromEnv();
    const profile = external ? externalProfile(external) : (setup.profile ?? defaultImapProfile());
    const dovecot = external ? externalServerHandle(external) : await startDovecot(undefined, profile, setup.dovecot);
    // What is started here is stopped again if a later step fails: a failed start leaves no server behind.
    const started: { close(): Promise<void> }[] = [{ close: () => dovecot.stop() }];
    let system: TwinboxSystem | undefined;
    try {
      // The agent reaches the server through a rewriter where the profile's server would not send what Dovecot does.
      const rules = rewriteRulesOf(profile);
      const rewriter = needsRewriter(rules) ? await ImapRewriter.start({ host: dovecot.host, port: dovecot.imapPort }, rules) : undefined;
      if (rewriter) started.push(rewriter);
      const smtp = await startSmtpSink();
      started.push(smtp);
      const relay = await startSmtpSink();
      started.push(relay);
      const dir = mkdtempSync(join(tmpdir(), 'twinbox-system-'));
      started.push({ close: async () => rmSync(dir, { recursive: true, force: true }) });
      const serverDir = join(dir, 'server');
      // Fixed ports, so a restarted server is where the agent (and the phone's mail) find it.
      const init = await run(SERVER_CLI, [
        'init', '--dir', serverDir, '--port', String(await freePort()), '--smtp-port', String(await freePort()),
        '--trusted-sender', '127.0.0.1', '--relay-host', '127.0.0.1', '--relay-port', String(relay.port), '--relay-security', 'plain',
      ]);
      if (init.code !== 0) throw new Error(`twinbox-server init failed: ${init.stderr}`);
      if (setup.storeUrl) useStore(serverDir, setup.storeUrl);
      const add = await run(SERVER_CLI, [
        'account', 'add', '--config', join(serverDir, 'config.json'), '--id', 'user1', '--desktop', 'user1@example.test', '--json',
        '--window', String(setup.window ?? 6), '--conflict-policy', setup.conflictPolicy ?? 'desktop', ...(setup.unreadFirst ? ['--unread-first'] : []),
      ]);
      if (add.code !== 0) throw new Error(`twinbox-server account add failed: ${add.stderr}`);
      system = new TwinboxSystem(dovecot, smtp, relay, dir, JSON.parse(add.stdout) as Pairing, rewriter);
      system.storeTarget = setup.storeUrl ?? join(serverDir, 'twinbox.db');
      // Trigger e-mails reach the desktop mailbox the way a mail server delivers: LMTP into Dovecot.
      if (dovecot.lmtpPort !== 0) system.editServerConfig((c) => (c.trigger = { host: '127.0.0.1', port: dovecot.lmtpPort, lmtp: true, from: 'twinbox@server.test' }));
      await system.startFirstTime(setup.env);
      await system.pairAgent();
      if (setup.qresync === false) system.editAgentConfig((c) => (c.imap.qresync = false));
      // A server without IDLE is polled for trigger e-mails; every 2 s here, so tests need not wait the default 20 s.
      system.editAgentConfig((c) => (c.imap.pollSeconds = 2));
      system.desktop = await DesktopClient.connect(dovecot.host, dovecot.imapPort, dovecot.users[0]!.name, dovecot.users[0]!.password, profile);
      return system;
    } catch (err) {
      if (system) await system.stop().catch(() => undefined);
      else for (const part of started.reverse()) await part.close().catch(() => undefined);
      throw err;
    }
  }

  get serverDir(): string {
    return join(this.dir, 'server');
  }

  get agentConfig(): string {
    return join(this.dir, 'agent.json');
  }

  get agentDatabase(): string {
    return join(this.dir, 'agent.db');
  }

  /**
   * The first start: the ports `init` was given were free when picked, but a
   * concurrent test may have taken one since. Nothing is paired yet, so pick
   * new ones and try again.
   */
  private async startFirstTime(env: NodeJS.ProcessEnv | undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startServer(env);
      } catch (err) {
        if (attempt >= 5 || !/EADDRINUSE/.test((err as Error).message)) throw err;
        const [port, smtpPort] = [await freePort(), await freePort()];
        this.editServerConfig((c) => {
          c.listen.port = port;
          c.publicUrl = `wss://127.0.0.1:${port}/sync`;
          c.smtp.port = smtpPort;
        });
      }
    }
  }

  /** Start (or restart) the server process; its port is read from its first line. */
  async startServer(env: NodeJS.ProcessEnv = {}): Promise<void> {
    const child = spawn(process.execPath, [SERVER_CLI, 'start', '--config', join(this.serverDir, 'config.json')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TWINBOX_LOG: process.env.TWINBOX_LOG ?? 'warn', ...this.serverEnv, ...env },
    });
    this.serverProcess = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      this.serverLog += d.toString();
    });
    this.port = await new Promise<number>((resolvePort, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const match = /listening on [^:]+:(\d+)/.exec(out);
        if (match) resolvePort(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`server exited (${code}): ${stderr}`)));
    });
    // The server has brought the database to its schema: this process's connection (closed by closeStore) opens again.
    await this.openStore();
  }

  /**
   * Web Push on (issue 20), through the testkit's loopback push service: the
   * VAPID subject set, the service's address allowed (loopback is refused by
   * default) and its certificate trusted; the server restarts to take it.
   */
  async usePushService(service: TestPushService, allow: string[] = ['127.0.0.1/32']): Promise<void> {
    this.editServerConfig((c) => {
      c.push = { ...c.push, subject: 'mailto:ops@twinbox.test', allowPrivateNetworks: allow };
    });
    this.serverEnv = { ...this.serverEnv, NODE_EXTRA_CA_CERTS: service.certPath };
    await this.stopServer();
    await this.startServer();
  }

  /**
   * A browser of a device subscribing at the push service and registering with
   * the server through the phone API, as the web app does (with the device's
   * API token). Returns the subscription: `service.waitFor(subscription.id)`
   * resolves with the pushes it receives (each with its arrival time, `at`).
   */
  async subscribePush(service: TestPushService, token: string, show: 'sender' | 'count' = 'sender'): Promise<TestSubscription & { id: string }> {
    const info = await this.api('GET', '/api/v1/push', token);
    if (!info.json?.available) throw new Error(`the server sends no push notifications: ${JSON.stringify(info.json)} (usePushService first)`);
    const subscription = service.subscribe(info.json.publicKey as string);
    const registered = await this.api('POST', '/api/v1/push/subscription', token, { subscription: { endpoint: subscription.endpoint, keys: subscription.keys }, show });
    if (registered.status !== 200) throw new Error(`registering the push subscription failed: ${registered.raw.toString()}`);
    return subscription;
  }

  /** Process id of the running server (for memory readings and signals). */
  get serverPid(): number {
    const pid = this.serverProcess?.pid;
    if (pid === undefined) throw new Error('the server is not running');
    return pid;
  }

  /** Resolves when the server process has exited (by itself, e.g. killed by its frame hook). */
  serverExited(): Promise<void> {
    const child = this.serverProcess;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((r) => child.once('exit', () => r()));
  }

  async stopServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.serverProcess;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    await exited;
  }

  /** Another account on the same server (for isolation tests). */
  async addAccount(id: string, window?: number): Promise<Pairing> {
    const add = await run(SERVER_CLI, [
      'account', 'add', '--config', join(this.serverDir, 'config.json'), '--id', id, '--desktop', `${id}@example.test`, '--json', ...(window ? ['--window', String(window)] : []),
    ]);
    if (add.code !== 0) throw new Error(`account add failed: ${add.stderr}`);
    return JSON.parse(add.stdout) as Pairing;
  }

  /** A phone device of an account, through the CLI; returns its API token. */
  async addDevice(account = 'user1'): Promise<string> {
    const add = await run(SERVER_CLI, ['device', 'add', '--config', join(this.serverDir, 'config.json'), '--id', account, '--json']);
    if (add.code !== 0) throw new Error(`device add failed: ${add.stderr}`);
    return (JSON.parse(add.stdout) as { token: string }).token;
  }

  /** A phone device of an account with its one-time sign-in link (for the web app) and its API token. */
  async addPhoneDevice(account = 'user1', name = 'phone'): Promise<{ device: number; token: string; signInUrl: string }> {
    const add = await run(SERVER_CLI, ['device', 'add', '--config', join(this.serverDir, 'config.json'), '--id', account, '--name', name, '--json']);
    if (add.code !== 0) throw new Error(`device add failed: ${add.stderr}`);
    return JSON.parse(add.stdout) as { device: number; token: string; signInUrl: string };
  }

  /** A server CLI command against this system's server; its output. */
  async serverCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return run(SERVER_CLI, [...args, '--config', join(this.serverDir, 'config.json')]);
  }

  /** One phone API request over HTTPS (to this system's server, or another node's `port`); the JSON body (or raw bytes) of the answer. */
  api(method: string, path: string, token: string | undefined, body?: unknown, port = this.port): Promise<{ status: number; json: any; raw: Buffer; headers: Record<string, unknown> }> {
    return new Promise((resolveRequest, reject) => {
      const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path,
          method,
          rejectUnauthorized: false,
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const raw = Buffer.concat(chunks);
            let json: unknown;
            try {
              json = JSON.parse(raw.toString('utf8'));
            } catch {
              json = undefined;
            }
            resolveRequest({ status: res.statusCode ?? 0, json, raw, headers: res.headers });
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  /** Change the server's config file in place (takes effect at the next start). */
  editServerConfig(change: (config: ServerConfig & { smtp: InboundSmtpConfig }) => void): void {
    const path = join(this.serverDir, 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8')) as ServerConfig & { smtp: InboundSmtpConfig };
    change(config);
    writeFileSync(path, JSON.stringify(config, null, 2));
  }

  /** Port of the server's inbound SMTP for the phone address. */
  get smtpPort(): number {
    return (JSON.parse(readFileSync(join(this.serverDir, 'config.json'), 'utf8')) as { smtp: { port: number } }).smtp.port;
  }

  /**
   * New mail for the phone, the real way: SMTP to the server's inbound port,
   * as a trusted local sender stating the arrival time (docs/scenarios.md `date`).
   */
  async phoneReceive(m: TestMessage, raw: Buffer = makeMessage(m)): Promise<void> {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: this.smtpPort, secure: false, ignoreTLS: true });
    const arrival = m.date ? `X-Twinbox-Arrival: ${m.date.toISOString()}\r\n` : '';
    try {
      await transport.sendMail({ envelope: { from: 'sender@example.test', to: ['user1@phone.invalid'] }, raw: Buffer.concat([Buffer.from(arrival), raw]) });
    } finally {
      transport.close();
    }
  }

  get serverUrl(): string {
    return `wss://127.0.0.1:${this.port}/sync`;
  }

  private async pairAgent(): Promise<void> {
    await this.pairAgentAs(this.pairing, this.agentConfig, this.agentDatabase);
  }

  /**
   * Pair another agent, for another account of this server, with the same
   * desktop mailbox (a second, independent start from nothing: benchmarks).
   * Returns its config file.
   */
  async pairAnotherAgent(pairing: Pairing, name: string): Promise<string> {
    const config = join(this.dir, `${name}.json`);
    await this.pairAgentAs(pairing, config, join(this.dir, `${name}.db`));
    const agent = JSON.parse(readFileSync(config, 'utf8'));
    agent.imap.pollSeconds = 2;
    writeFileSync(config, JSON.stringify(agent, null, 2));
    return config;
  }

  private async pairAgentAs(p: Pairing, config: string, database: string): Promise<void> {
    const result = await run(AGENT_CLI, [
      'pair', '--config', config, `--server=${this.serverUrl}`, `--account=${p.account}`, `--token=${p.token}`,
      ...p.pins.map((pin) => `--pin=${pin}`), `--trigger-secret=${p.triggerSecret}`, '--imap-host', this.dovecot.host,
      '--imap-port', String(this.agentImapPort), '--imap-security', 'plain', '--imap-user', this.dovecot.users[0]!.name, '--imap-password', this.dovecot.users[0]!.password,
      '--database', database, '--smtp-host', '127.0.0.1', '--smtp-port', String(this.smtp.port), '--smtp-security', 'plain',
    ]);
    if (result.code !== 0) throw new Error(`twinbox-agent pair failed: ${result.stderr}`);
  }

  /** Change the agent's config file in place. */
  editAgentConfig(
    change: (config: { server: { url: string; pins?: string[]; fingerprint?: string }; token: string; imap: { port: number; qresync?: boolean; keepaliveSeconds?: number; pollSeconds?: number } }) => void,
  ): void {
    const config = JSON.parse(readFileSync(this.agentConfig, 'utf8'));
    change(config);
    writeFileSync(this.agentConfig, JSON.stringify(config, null, 2));
  }

  /** Any twinbox-agent command. */
  agentCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<AgentRun> {
    return run(AGENT_CLI, args, { TWINBOX_LOG: 'warn', ...env });
  }

  /** Run the agent process for one sync session. */
  runAgent(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<AgentRun> {
    return run(AGENT_CLI, ['sync', '--config', this.agentConfig, '--json', ...args], { TWINBOX_LOG: 'warn', ...env });
  }

  /** One sync that must succeed; returns the agent's summary. */
  async sync(): Promise<SyncSummary> {
    const result = await this.runAgent();
    if (result.code !== 0) throw new Error(`sync failed (exit ${result.code ?? result.signal}): ${result.stderr}`);
    return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as SyncSummary;
  }

  /** The phone's mailbox, through the server's in-process phone API on its database. */
  phone(): PhoneMailbox {
    return new PhoneMailbox(this.store, 'user1', relayMailer({ host: '127.0.0.1', port: this.relay.port, security: 'plain' }));
  }

  /** Open this process's connection to the server database, unless it is open (every startServer does; after closeStore, the store is closed until then). */
  openStore(): Promise<ServerStore> {
    this.storeOpening ??= ServerStore.open(this.storeTarget).then(
      (store) => (this.phoneStore = store),
      (err: unknown) => {
        this.storeOpening = undefined;
        throw err;
      },
    );
    return this.storeOpening;
  }

  /** The server now stores at `target` (its config was changed: a SQLite path or a postgres:// URL); the next openStore opens that. */
  useStoreAt(target: string): void {
    this.storeTarget = target;
  }

  /** Close this process's connection to the server database (startServer, or openStore, opens it again). */
  async closeStore(): Promise<void> {
    const opening = this.storeOpening;
    this.storeOpening = undefined;
    this.phoneStore = undefined;
    await (await opening?.catch(() => undefined))?.close();
  }

  /** The server database, through this process's connection (open while the server runs: see openStore). */
  get store(): ServerStore {
    if (!this.phoneStore) throw new Error('the server database is not open here (closeStore closed it): startServer or openStore opens it again');
    return this.phoneStore;
  }

  async phoneDeliver(m: TestMessage & { seen?: boolean; flagged?: boolean }): Promise<number> {
    return this.phone().deliver({ raw: makeMessage(m), ...(m.date ? { date: m.date.getTime() } : {}), seen: m.seen ?? false, flagged: m.flagged ?? false });
  }

  /** A phone folder's messages in the phone's order, named by label. */
  async phoneMessages(folder: Folder = 'inbox'): Promise<{ id: number; label: string; seen: boolean; flagged: boolean; date: number }[]> {
    const store = this.store;
    const account = (await store.accounts.get('user1'))!;
    const messages: { id: number; label: string; seen: boolean; flagged: boolean; date: number }[] = [];
    // One message's bytes at a time (a folder may hold large mail).
    for (const m of await store.messages.list('user1', folder, account.unreadFirst)) {
      messages.push({
        id: m.id,
        label: labelOfRaw((await store.messages.raw('user1', m.id)) ?? Buffer.alloc(0)) ?? '(unlabeled)',
        seen: m.seen,
        flagged: m.flagged,
        date: m.date,
      });
    }
    return messages;
  }

  async phoneLabels(folder: Folder = 'inbox'): Promise<string[]> {
    return (await this.phoneMessages(folder)).map((m) => m.label);
  }

  /** Phone ID of the message with this label in the phone Inbox or Trash. */
  async phoneId(label: string): Promise<number> {
    const found = [...(await this.phoneMessages('inbox')), ...(await this.phoneMessages('trash'))].find((m) => m.label === label);
    if (!found) throw new Error(`no message ${label} in the phone Inbox or Trash`);
    return found.id;
  }

  /** Restart the desktop IMAP server (the user's mail client reconnects after it). */
  async restartImap(): Promise<void> {
    await this.desktop.close();
    await this.dovecot.restart();
    this.desktop = await DesktopClient.connect(this.dovecot.host, this.dovecot.imapPort, 'user1', 'secret1', this.dovecot.profile);
  }

  /** Mail arriving at the desktop address the way a mail server delivers it: LMTP into Dovecot. */
  async deliverToDesktop(raw: Buffer): Promise<void> {
    // An external server has no LMTP for us: the message is APPENDed, as a delivery agent would store it.
    if (this.dovecot.lmtpPort === 0) return void (await this.desktop.appendRaw(raw, new Date()));
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: this.dovecot.lmtpPort, lmtp: true, secure: false, ignoreTLS: true });
    try {
      await transport.sendMail({ envelope: { from: 'someone@example.test', to: ['user1@example.test'] }, raw });
    } finally {
      transport.close();
    }
  }

  /** Start `twinbox-agent run` (the background agent). */
  async startDaemon(args: string[] = ['--schedule', 'off'], env: NodeJS.ProcessEnv = {}): Promise<AgentDaemon> {
    const daemon = await AgentDaemon.start(AGENT_CLI, this.agentConfig, args, env);
    this.daemons.push(daemon);
    return daemon;
  }

  private readonly daemons: AgentDaemon[] = [];

  async stop(): Promise<void> {
    for (const d of this.daemons) await d.stop();
    await this.closeStore();
    await this.desktop?.close();
    await this.stopServer();
    await this.smtp.close();
    await this.relay.close();
    await this.rewriter?.close();
    await this.dovecot.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
