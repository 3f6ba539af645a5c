/**
 * Runs one parsed scenario against the real system (TwinboxSystem: private
 * Dovecot, server process, agent process per sync, TLS, SMTP sink) and prints
 * each step as it runs.
 *
 * - Mail for the phone (initial state and `phone: deliver`) arrives through
 *   the server's inbound SMTP, as a trusted local sender stating its arrival
 *   time; `seen`/`flagged` are then set through the phone API.
 * - Labels become the X-Scenario-Label header and the Subject of each message,
 *   with a Message-ID made from the label, so a label in both initial
 *   mailboxes is one message (same Message-ID, date and content).
 * - A message without `date` arrives "now", at least one second (the
 *   resolution of INTERNALDATE) after the one before.
 * - `crash` arms the next `sync`: the named process is killed with SIGKILL
 *   after frame N (or a random N, from the printed seed), restarted, and the
 *   sync is repeated until it completes.
 * - Phone changes go through the phone's HTTP API.
 * - With a `syncNow` or `waitForSync` step, the agent runs in the background
 *   (`twinbox-agent run`, push and triggers on, schedule off): a `sync` step
 *   asks it for one session, `syncNow` makes the server send the trigger
 *   e-mail, `waitForSync` waits for a sync the scenario did not start.
 * - With `nodes` 2 (on PostgreSQL: docs/scaling.md), a second server node
 *   serves the same database and HAProxy sits in front of both, choosing a
 *   node at random for each connection: each sync lands on either node, and
 *   each phone request goes to either one (drawn from the seed).
 */
import { join } from 'node:path';
import { ServerNode, TwinboxSystem, makeMessage, seededRandom, startHaproxy, type AgentDaemon, type Haproxy, type ImapProfile } from '@twinbox/testkit';
import { checkExpectation } from './check.js';
import type { MessageSpec, Scenario, Step } from './model.js';

export interface RunOptions {
  seed: number;
  out: (line: string) => void;
  /** The kind of IMAP server the desktop is (default: TWINBOX_IMAP_PROFILE, else full). */
  profile?: ImapProfile;
  /** Gives each run an empty PostgreSQL database (a postgres:// URL) for the server's store; SQLite without it. */
  storeUrl?: () => Promise<string>;
  /** Server nodes on that database, behind HAProxy (default 1: the system's server alone). Needs `storeUrl`. */
  nodes?: number;
}

/** Sync leases of the nodes in a multi-node run: short, so a sync that lands on another node after a crash soon goes on. */
const LEASE_SECONDS = 5;

export interface ScenarioResult {
  file: string;
  name: string;
  passed: boolean;
  durationMs: number;
  /** Why it failed, in one line. */
  failure?: string;
}



class StepFailed extends Error {}

class ArrivalClock {
  private last = 0;
  /** "Now", but never earlier than one second after the previous arrival. */
  next(): Date {
    this.last = Math.max(Date.now(), this.last + 1000);
    return new Date(this.last);
  }
}

export class ScenarioRun {
  private system!: TwinboxSystem;
  private readonly created = new Set<string>();
  private readonly clock = new ArrivalClock();
  private readonly rng: () => number;
  private armed: Extract<Step, { kind: 'crash' }> | undefined;
  private lastFrames = 0;
  /** The phone's device token for the API. */
  private token = '';
  /** The background agent, in scenarios with syncNow/waitForSync. */
  private daemon: AgentDaemon | undefined;
  /** Daemon events already accounted for by waitForSync. */
  private consumed = 0;
  /** A syncNow step since the last waitForSync: wait for the sync its trigger e-mail causes. */
  private triggerAwaited = false;
  /** With `nodes` > 1: the other nodes and the balancer in front of all. */
  private cluster: { nodes: ServerNode[]; haproxy: Haproxy } | undefined;

  constructor(
    private readonly scenario: Scenario,
    private readonly options: RunOptions,
  ) {
    this.rng = seededRandom(options.seed);
  }

  async run(): Promise<ScenarioResult> {
    const { scenario, options } = this;
    const started = Date.now();
    const result = (passed: boolean, failure?: string): ScenarioResult => ({
      file: scenario.file,
      name: scenario.name,
      passed,
      durationMs: Date.now() - started,
      ...(failure ? { failure } : {}),
    });
    options.out(`scenario "${scenario.name}" (${scenario.file}), window ${scenario.window}, seed ${options.seed}`);
    const live = scenario.steps.some((s) => s.kind === 'syncNow' || s.kind === 'waitForSync');
    const crash = scenario.steps.find((s) => s.kind === 'crash');
    if (live && crash) {
      const failure = `line ${crash.line}: crash steps cannot be combined with syncNow/waitForSync (the running agent is not restarted by the runner)`;
      options.out(`  ✗ ${failure}`);
      return result(false, failure);
    }
    this.system = await TwinboxSystem.start({
      window: scenario.window,
      unreadFirst: scenario.options.unreadFirst,
      conflictPolicy: scenario.options.conflictPolicy,
      ...(this.options.profile ? { profile: this.options.profile } : {}),
      ...(this.options.storeUrl ? { storeUrl: await this.options.storeUrl() } : {}),
    });
    try {
      if ((this.options.nodes ?? 1) > 1) await this.startCluster(this.options.nodes!);
      await this.setUp();
      this.token = await this.system.addDevice();
      if (live) {
        // Push and triggers on, the schedule off: syncs happen at `sync` steps and when the phone asks.
        this.daemon = await this.system.startDaemon(['--schedule', 'off', '--no-startup-sync']);
        options.out('  (the agent runs in the background: push and triggers on, schedule off)');
      }
      for (const [i, step] of scenario.steps.entries()) {
        const t = Date.now();
        const prefix = `  ${String(i + 1).padStart(2)}. line ${String(step.line).padEnd(4)} ${describe(step)}`;
        try {
          const note = await this.perform(step);
          options.out(`${prefix} ✓ ${note ?? ''}${note ? ' ' : ''}(${Date.now() - t} ms)`);
        } catch (err) {
          options.out(`${prefix} ✗`);
          const lines = err instanceof StepFailed ? err.message.split('\n') : [(err as Error).message];
          for (const line of lines) options.out(`      ${line}`);
          options.out(`  FAIL ${scenario.name} at step ${i + 1} (line ${step.line}); replay with --seed ${options.seed}`);
          return result(false, `line ${step.line}: ${lines[0]}`);
        }
      }
      options.out(`  PASS ${scenario.name} (${scenario.steps.length} steps, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
      return result(true);
    } finally {
      for (const node of this.cluster?.nodes ?? []) await node.stop().catch(() => undefined);
      await this.cluster?.haproxy.stop();
      await this.system.stop();
    }
  }

  /** Nodes beside the system's server on its database, HAProxy (random) in front; the agent syncs through it. */
  private async startCluster(count: number): Promise<void> {
    if (!this.options.storeUrl) throw new Error('several nodes need a PostgreSQL store (storeUrl)');
    const config = join(this.system.serverDir, 'config.json');
    this.system.editServerConfig((c) => (c.cluster = { ...(c.cluster ?? {}), leaseSeconds: LEASE_SECONDS }));
    await this.system.stopServer();
    await this.system.startServer();
    const nodes: ServerNode[] = [];
    for (let i = 2; i <= count; i++) {
      nodes.push(
        await ServerNode.start({
          config,
          name: `n${i}`,
          edit: (c) => {
            c.cluster = { nodeName: `scenario-node-${i}`, leaseSeconds: LEASE_SECONDS };
            // The system's server takes the phone address's mail; the others serve HTTPS and sync.
            delete c.smtp;
          },
        }),
      );
    }
    const haproxy = await startHaproxy([this.system.port, ...nodes.map((n) => n.port)], { balance: 'random', checkIntervalMs: 300 });
    this.cluster = { nodes, haproxy };
    await this.nodesUp();
    this.system.editAgentConfig((c) => (c.server.url = haproxy.syncUrl));
    this.options.out(`  (${count} server nodes on one PostgreSQL database behind HAProxy: each sync and phone request lands on a random node)`);
  }

  /** Every node in service at the balancer (after a restart of the system's server). */
  private async nodesUp(): Promise<void> {
    if (!this.cluster) return;
    for (const port of [this.system.port, ...this.cluster.nodes.map((n) => n.port)]) await this.cluster.haproxy.waitForNode(port, true, 15_000);
  }

  /** The port a phone request goes to: the system's server, or with several nodes any of them (from the seed). */
  private phonePort(): number {
    const ports = [this.system.port, ...(this.cluster?.nodes.map((n) => n.port) ?? [])];
    return ports[Math.floor(this.rng() * ports.length)]!;
  }

  private messageFor(spec: MessageSpec, date: Date): Buffer {
    return makeMessage({ ...spec, date, messageId: `<${spec.label}@scenario.twinbox.test>` });
  }

  /** The initial mailboxes, before any sync. */
  private async setUp(): Promise<void> {
    const { desktop, phone } = this.scenario;
    const shared = new Map<string, Date>();
    for (const [folder, specs] of [['INBOX', desktop.inbox], ['Trash', desktop.trash], ['Sent', desktop.sent]] as const) {
      for (const spec of specs) {
        const date = spec.date ?? this.clock.next();
        shared.set(spec.label, date);
        await this.system.desktop.deliver({ ...spec, date, messageId: `<${spec.label}@scenario.twinbox.test>` }, folder);
        this.created.add(spec.label);
      }
    }
    for (const spec of phone.inbox) {
      // A label on both sides is one message: the desktop's content and date, the phone's own flags.
      const desktopSpec = [...desktop.inbox, ...desktop.trash, ...desktop.sent].find((d) => d.label === spec.label);
      const date = shared.get(spec.label) ?? spec.date ?? this.clock.next();
      await this.phoneArrival(spec, this.messageFor(desktopSpec ?? spec, date), date);
    }
  }

  /** Mail for the phone through the server's inbound SMTP, at its arrival time; then the flags it should carry. */
  private async phoneArrival(spec: MessageSpec, raw: Buffer, date: Date): Promise<void> {
    await this.system.phoneReceive({ label: spec.label, date }, raw);
    this.created.add(spec.label);
    const phone = this.system.phone();
    const id = await this.system.phoneId(spec.label);
    if (spec.seen) await phone.markRead(id);
    if (spec.flagged) await phone.flag(id);
  }

  private async perform(step: Step): Promise<string | undefined> {
    const system = this.system;
    switch (step.kind) {
      case 'sync':
        if (this.daemon) return this.daemonSync(this.daemon);
        return this.armed ? this.crashingSync(this.armed) : this.summarize(await system.sync());
      case 'syncNow': {
        const answer = await system.api('POST', '/api/v1/sync-now', this.token, { via: 'email' }, this.phonePort());
        if (answer.status !== 202) throw new StepFailed(`sync now was refused: ${JSON.stringify(answer.json)}`);
        this.triggerAwaited = true;
        return 'trigger e-mail sent';
      }
      case 'waitForSync':
        return this.waitForSync(step.timeoutMs);
      case 'deliver': {
        const date = step.message.date ?? this.clock.next();
        this.created.add(step.message.label);
        if (step.side === 'desktop') await system.desktop.deliver({ ...step.message, date, messageId: `<${step.message.label}@scenario.twinbox.test>` });
        else await this.phoneArrival(step.message, this.messageFor(step.message, date), date);
        return undefined;
      }
      case 'labelOp':
        return step.side === 'desktop' ? this.desktopOp(step.op, step.label) : this.phoneOp(step.op, step.label);
      case 'send': {
        const { message } = step;
        const from = message.from ?? 'user1@phone.invalid';
        this.created.add(message.label);
        try {
          await system.phone().send({
            raw: this.messageFor({ ...message, from }, message.date ?? this.clock.next()),
            envelope: { from: from.replace(/^.*<([^>]+)>.*$/, '$1'), to: [message.to!.replace(/^.*<([^>]+)>.*$/, '$1')] },
            viaSync: message.viaSync,
          });
        } catch (err) {
          // A refused direct send is the outcome to check (it stays in the Outbox, failed), not a runner error.
          return `not sent: ${(err as Error).message}`;
        }
        return message.viaSync ? 'queued in the Outbox for the next sync' : 'sent by the relay';
      }
      case 'expect': {
        const failures = await checkExpectation(
          { system, window: this.scenario.window, unreadFirst: this.scenario.options.unreadFirst, created: this.created },
          step.expectation,
        );
        if (failures.length > 0) throw new StepFailed(failures.join('\n'));
        return undefined;
      }
      case 'crash':
        this.armed = step;
        return 'armed for the next sync';
      case 'restartImap':
        await system.restartImap();
        return undefined;
      default: {
        const unhandled: never = step;
        throw new Error(`unhandled step ${JSON.stringify(unhandled)}`);
      }
    }
  }

  /** A `sync` step while the agent runs in the background: ask it over its control socket (as `twinbox-agent sync` does) and wait for that sync. */
  private async daemonSync(daemon: AgentDaemon): Promise<string> {
    const answer = await daemon.requestSync();
    if (!answer.ok) throw new StepFailed(`the sync failed: ${answer.error.message} [${answer.error.code}]`);
    return `${answer.summary.mode}: ${answer.summary.agentActions} desktop→phone, ${answer.summary.serverActions} phone→desktop`;
  }

  /**
   * Wait for a sync the scenario did not start to complete: after a syncNow,
   * the one its trigger e-mail caused; otherwise any (a push) not yet waited for.
   */
  private async waitForSync(timeoutMs: number): Promise<string> {
    const daemon = this.daemon!;
    const wanted = this.triggerAwaited ? (r: string[]) => r.includes('trigger') : (r: string[]) => r.some((x) => x !== 'manual');
    let event;
    try {
      event = await daemon.waitFor((e) => (e.event === 'sync' || e.event === 'syncFailed') && wanted(e.reasons ?? []), timeoutMs, this.consumed);
    } catch {
      throw new StepFailed(`no sync ${this.triggerAwaited ? 'caused by the trigger e-mail' : 'started by itself'} within ${timeoutMs} ms`);
    }
    this.triggerAwaited = false;
    this.consumed = daemon.events.indexOf(event) + 1;
    if (event.event === 'syncFailed') throw new StepFailed(`the sync (${event.reason}) failed: ${String(event.error)}`);
    return `a sync started by ${event.reason} completed`;
  }

  private summarize(summary: Awaited<ReturnType<TwinboxSystem['sync']>>): string {
    this.lastFrames = summary.wire.framesSent + summary.wire.framesReceived;
    return `${summary.mode}: ${summary.agentActions} desktop→phone, ${summary.serverActions} phone→desktop, ${summary.pulled} pulled, ${summary.unmapped} evicted`;
  }

  private async crashingSync(crash: Extract<Step, { kind: 'crash' }>): Promise<string> {
    this.armed = undefined;
    const system = this.system;
    const frame = crash.at === 'random' ? 1 + Math.floor(this.rng() * Math.max(this.lastFrames, 12)) : crash.at;
    const env = { TWINBOX_KILL_AFTER_FRAMES: String(frame) };
    let what: string;
    if (crash.who === 'agent') {
      const run = await system.runAgent([], env);
      what = run.signal === 'SIGKILL' ? `agent killed after frame ${frame}` : `the sync ended before frame ${frame} (exit ${run.code}): no kill`;
    } else {
      await system.stopServer();
      await system.startServer(env);
      const exited = system.serverExited();
      const run = await system.runAgent();
      const died = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 200))]);
      what = died ? `server killed after frame ${frame} (agent exit ${run.code})` : `the sync ended before frame ${frame}: no kill`;
      await system.stopServer();
      await system.startServer();
      await this.nodesUp();
    }
    // With several nodes, the repeated sync may land on another node, which waits for the killed one's lease.
    const attempts = this.cluster ? 5 + 2 * LEASE_SECONDS : 5;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const run = await system.runAgent();
      if (run.code === 0) {
        const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Awaited<ReturnType<TwinboxSystem['sync']>>;
        return `${what}; restarted; ${this.summarize(summary)}`;
      }
      if (run.code !== 75) throw new StepFailed(`sync after the crash failed (exit ${run.code ?? run.signal}): ${run.stderr.trim()}`);
      await new Promise((r) => setTimeout(r, this.cluster ? 1000 : 300 * attempt));
    }
    throw new StepFailed(`${what}; the sync did not complete in ${attempts} attempts after the restart`);
  }

  private async desktopOp(op: string, label: string): Promise<undefined> {
    const desktop = this.system.desktop;
    const folder = await desktop.folderOf(label);
    if (!folder) throw new StepFailed(`desktop ${op} ${label}: the message is not on the desktop`);
    switch (op) {
      case 'read':
      case 'unread':
        await desktop.setFlag(label, '\\Seen', op === 'read', folder);
        break;
      case 'flag':
      case 'unflag':
        await desktop.setFlag(label, '\\Flagged', op === 'flag', folder);
        break;
      case 'trash':
        if (folder !== 'INBOX') throw new StepFailed(`desktop trash ${label}: the message is in ${folder}, not INBOX`);
        await desktop.move(label, 'INBOX', 'Trash');
        break;
      case 'recover':
        if (folder !== 'Trash') throw new StepFailed(`desktop recover ${label}: the message is in ${folder}, not Trash`);
        await desktop.move(label, 'Trash', 'INBOX');
        break;
      default:
        await desktop.destroy(label, folder);
    }
    return undefined;
  }

  /** A change made on the phone, through the phone's HTTP API. */
  private async phoneOp(op: string, label: string): Promise<undefined> {
    let id: number;
    try {
      id = await this.system.phoneId(label);
    } catch {
      throw new StepFailed(`phone ${op} ${label}: the message is not in the phone Inbox or Trash (did it leave the window?)`);
    }
    const answer = await this.system.api('POST', `/api/v1/messages/${id}/${op}`, this.token, undefined, this.phonePort());
    if (answer.status !== 200) throw new StepFailed(`phone ${op} ${label}: ${answer.json?.error?.code ?? answer.status} ${answer.json?.error?.message ?? ''}`);
    return undefined;
  }
}

function describe(step: Step): string {
  switch (step.kind) {
    case 'sync':
      return 'sync';
    case 'deliver':
      return `${step.side} deliver ${step.message.label}`;
    case 'labelOp':
      return `${step.side} ${step.op} ${step.label}`;
    case 'send':
      return `phone send ${step.message.label}`;
    case 'expect':
      return `expect ${[...Object.keys(step.expectation.lists), ...(['seen', 'flagged', 'smtpDelivered', 'window'] as const).filter((k) => step.expectation[k] !== undefined)].join(', ')}`;
    case 'crash':
      return `crash ${step.who} at ${step.at}`;
    default:
      return step.kind;
  }
}

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioResult> {
  return new ScenarioRun(scenario, options).run();
}
