/**
 * The background agent's second IMAP connection (the first is the sync's,
 * kept open between syncs by persistent-links.ts): it watches the desktop
 * mailbox between syncs, for two things (docs/spec.md §8, §9):
 *
 *   - trigger e-mails ("sync now" by mail, patent FIG. 11B): a valid one is
 *     expunged for good, its nonce recorded, and a sync requested; an
 *     invalid, expired or replayed one is left where it is, as ordinary mail;
 *   - desktop changes (desktop push): new mail, expunges and flag changes in
 *     INBOX, and with NOTIFY (RFC 5465) where the server offers it, changes in
 *     Trash; each is handed to `changes` (desktop-push.ts batches them into
 *     syncs).
 *
 * INBOX stays selected, in IMAP IDLE (RFC 2177) between commands: the server
 * reports EXISTS, EXPUNGE and FETCH (FLAGS) as they happen, and with NOTIFY
 * SET also a STATUS of Trash when it changes. Every pollSeconds (default 20)
 * the watcher also looks by itself — where the server has no IDLE it is the
 * only way, and some servers offer IDLE and never notify in it (stock
 * Courier): a NOOP (INBOX's flag changes come as FETCH responses), the
 * trigger search, and the cheap "anything new?": STATUS of INBOX and Trash
 * compared with what the last sync saw (change-plan.ts). The same check runs
 * after every reconnect, so what changed while the connection was down still
 * starts a sync.
 *
 * While a sync runs on the other connection the watcher is held (hold(),
 * release()): out of IDLE, and no poll. A session in IDLE on the same
 * mailbox makes the server follow every change the sync makes: Dovecot's
 * process for it reads a Maildir's cur/ again after each, beside the sync's
 * own process doing the same, up to twice the time of the sync's STOREs on
 * 100,000 messages (scripts/imap-store-cost.mjs --watcher idle|selected;
 * NOTIFY SET outside IDLE cost nothing measurable, and NOTIFY NONE would
 * also silence the NOOP that looks afterwards). Nothing is lost meanwhile:
 * when the sync ends the watcher looks (STATUS against what the sync saw, or
 * a NOOP whose EXISTS starts the trigger scan) before it listens again.
 *
 * The connection is re-made with backoff when it drops. One that goes silent
 * without closing (a NAT or firewall that forgot it, a hung server) would
 * otherwise look like a quiet mailbox for as long as the socket lives, so
 * every keepaliveSeconds the watcher sends a NOOP (it breaks IDLE) and drops
 * the connection if no answer comes within half that time.
 *
 * Where the server advertises and refuses (imap/fallbacks.ts): a refused IDLE
 * leaves the polling; a refused NOTIFY leaves Trash to the poll; a refused
 * STATUS (HIGHESTMODSEQ) leaves counts and UIDNEXT; a refused SEARCH HEADER is
 * replaced by the trigger header of the messages that arrived within a
 * trigger's lifetime (SEARCH SINCE, then FETCH of that one header field); a
 * refused UID EXPUNGE by the protected expunge, which never runs while the
 * sync's does (expunge.ts). Both connections share what was refused through
 * the store.
 *
 * The connection is also the agent's interactive lane (docs/reach.md,
 * reach/lane.ts): a request from the phone borrows it between the watcher's
 * own commands (it leaves IDLE, as any command does, and may select other
 * folders). What the server reports meanwhile is about those folders, not
 * INBOX, so it is not taken for a desktop change; when the request is done
 * INBOX is selected again, the "anything new?" check and the trigger scan run
 * (a change or a trigger may have come meanwhile), and IDLE resumes. So the
 * agent holds at most two IMAP connections: the sync's and this one.
 */
import { ImapFlow } from 'imapflow';
// imapflow's own mailbox-name encoder (modified UTF-7 unless UTF8=ACCEPT is on), for the commands sent by exec().
import { encodePath } from 'imapflow/lib/tools.js';
import type { Logger } from '@twinbox/protocol';
import { imapClientOptions, type ImapSettings } from '../imap/desktop-imap.js';
import { ImapFallbacks, REFUSED } from '../imap/fallbacks.js';
import { chooseFolder } from '../imap/folders.js';
import type { AgentStore, FolderRole } from '../store/agent-store.js';
import type { TriggerCheck } from '../triggers.js';
import { RequestFailure } from '../reach/failure.js';
import type { ImapLane, LaneContext } from '../reach/lane.js';
import { Backoff } from './backoff.js';
import { TriggerScan } from './trigger-scan.js';
import type { FolderStatus } from './change-plan.js';

export const DEFAULT_POLL_SECONDS = 20;
/** How long a request waits for the watcher's connection to come up (the server's deadline may be shorter). */
const LANE_WAIT_MS = 15_000;

/** RFC 5465 §5: the events watched, for the selected INBOX and for Trash. */
const EVENTS = ['MessageNew', 'MessageExpunge', 'FlagChange'].map((value) => ({ type: 'ATOM', value }));

/** Where what the watcher sees goes. */
export interface WatcherSinks {
  /** Trigger e-mails to look for (with the check of their header), and who hears a valid one. */
  triggers?: { check: TriggerCheck; onTrigger: () => void };
  /** Desktop changes: each notification, NOTIFY's STATUS of Trash, and each "anything new?" answer (STATUS of INBOX and Trash). */
  changes?: {
    changed(what: string): void;
    trashNotified(status: FolderStatus | undefined): void;
    status(now: Partial<Record<FolderRole, FolderStatus>>, afterGap: boolean): void;
  };
}

type UntaggedStatus = { attributes?: ({ value?: unknown } | { value?: unknown }[])[] };

/** An untagged STATUS (RFC 3501 §7.2.4): the folder's name as sent, and its items. */
function parseStatus(untagged: UntaggedStatus): { name: string | undefined; status: FolderStatus | undefined } {
  const [name, list] = untagged.attributes ?? [];
  const named = (name as { value?: unknown } | undefined)?.value;
  const items = new Map<string, string>();
  const pairs = Array.isArray(list) ? list.map((a) => String((a as { value?: unknown }).value)) : [];
  for (let i = 0; i + 1 < pairs.length; i += 2) items.set(pairs[i]!.toUpperCase(), pairs[i + 1]!);
  const uidValidity = items.get('UIDVALIDITY');
  const uidNext = Number(items.get('UIDNEXT'));
  const exists = Number(items.get('MESSAGES'));
  const complete = uidValidity !== undefined && Number.isInteger(uidNext) && Number.isInteger(exists);
  return { name: typeof named === 'string' ? named : undefined, status: complete ? { uidValidity, uidNext, exists, highestModseq: items.get('HIGHESTMODSEQ') ?? null } : undefined };
}
/**
 * End an IDLE under way before a command. imapflow's own commands do (its run() breaks IDLE first), but exec(),
 * which the raw commands here and the lane's UID SORT use, does not: the command would wait until IDLE ends by
 * itself (maxIdleTime, a minute). A NOOP goes through run(), and brings the selected folder's news.
 */
export async function leaveIdle(client: ImapFlow): Promise<void> {
  if ((client as unknown as { idling?: boolean }).idling) await client.noop();
}

/** What the watcher does on its connection, one at a time: the trigger scan, "anything new?", NOTIFY SET, a NOOP. */
type WatcherTask = 'scan' | 'check' | 'notify' | 'look';

type Exec = (command: string, attributes: unknown[], options?: { untagged?: Record<string, (u: UntaggedStatus) => Promise<void> | void> }) => Promise<{ next: () => void }>;

export class DesktopWatcher implements ImapLane {
  private client: ImapFlow | undefined;
  private fallbacks: ImapFallbacks | undefined;
  /** The trigger scan, where triggers are watched. */
  private readonly triggerScan: TriggerScan | undefined;
  private stopped = false;
  /** Commands on the connection, one after the other; IDLE again once none is waiting. */
  private work: Promise<void> = Promise.resolve();
  private readonly waiting = new Set<WatcherTask>();
  /** Tasks asked for while held: run on release. */
  private readonly putOff = new Set<WatcherTask>();
  /** The watcher's own expunge runs: the EXPUNGE and FETCH it causes are no desktop change (a trigger sync follows). */
  private ownExpunge = false;
  /** Trash as the sync chose it (imap/folders.ts); undefined until known. */
  private trash: string | undefined;
  /** The connection was lost since the last check: what changed meanwhile was not notified. */
  private gap = false;
  private readonly backoff = new Backoff();
  private timer: NodeJS.Timeout | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  /** A request of the interactive lane holds the connection: no IDLE, and what is reported is not INBOX's. */
  private lent = false;
  /** A sync runs on the other connection: no IDLE and no poll until it ends (see the module comment). */
  private held = false;
  /** Requests waiting for the connection to be up (the agent just started, or it reconnects). */
  private readonly upWaiters = new Set<() => void>();

  constructor(
    private readonly settings: ImapSettings,
    private readonly store: AgentStore,
    private readonly sinks: WatcherSinks,
    private readonly log: Logger,
  ) {
    this.triggerScan = sinks.triggers
      ? new TriggerScan(sinks.triggers, store, log, async (expunge) => {
          this.ownExpunge = true;
          try {
            await expunge();
          } finally {
            this.ownExpunge = false;
          }
        })
      : undefined;
  }

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.keepalive);
    clearInterval(this.pollTimer);
    await this.client?.logout().catch(() => this.client?.close());
  }

  /**
   * Run a request of the interactive lane on this connection, after the
   * watcher's commands queued before it and before those queued after (one
   * command stream per connection): see the module comment.
   */
  run<T>(work: (lane: LaneContext) => Promise<T>): Promise<T> {
    const run = this.work.then(async () => {
      if (!this.client?.usable || !this.fallbacks) await this.up(LANE_WAIT_MS);
      const client = this.client;
      const fallbacks = this.fallbacks;
      if (!client || !client.usable || !fallbacks) throw new RequestFailure('UNAVAILABLE', 'the desktop IMAP connection is not up now');
      // Held for a sync, the connection has not heard INBOX since the sync began: what the server kept for it (a
      // flag change, which a STATUS without HIGHESTMODSEQ cannot show at release) is heard now, as INBOX's.
      if (this.held && client.mailbox && client.mailbox.path === 'INBOX') await client.noop();
      this.lent = true;
      try {
        await leaveIdle(client);
        return await work({ client, fallbacks, settings: this.settings });
      } finally {
        // The watcher expunges triggers: INBOX, selected read-write (before INBOX's reports count again).
        if (client.usable && (!client.mailbox || client.mailbox.path !== 'INBOX' || client.mailbox.readOnly)) await client.mailboxOpen('INBOX').catch(() => client.close());
        this.lent = false;
      }
    });
    // Back to watching, then IDLE, once the request is over: what changed in INBOX while it ran is found by the
    // cheap check (STATUS against the last sync: a trigger that came meanwhile is new mail too, and the next
    // poll's scan consumes it); the trigger scan (a SEARCH of all INBOX, a second on 100,000 messages) runs after
    // a request only where there is no check (desktop push off): requests come one after another when a phone
    // browses, and each would wait for the last one's scan (the reach benchmark's opens). Asked for after the
    // request, not when it is queued: a check queued behind an earlier request ran before this one, and left
    // the connection out of IDLE after it.
    this.work = run
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        if (this.sinks.changes) this.enqueue('check');
        else if (this.sinks.triggers) this.enqueue('scan');
        else if (this.client) this.idle(this.client);
      });
    return run;
  }

  /** Resolves when the connection is up with INBOX selected, or after `ms`. */
  private up(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.upWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.upWaiters.add(done);
    });
  }

  /** The watcher's connection is closed by stop(), not by the lane. */
  async close(): Promise<void> {}

  /** A sync starts on the agent's other connection: stop listening to the mailbox until it ends. */
  hold(): void {
    if (this.held) return;
    this.held = true;
    this.work = this.work.then(async () => {
      const client = this.client;
      if (!this.held || !client?.usable) return;
      try {
        // A NOOP, not leaveIdle(): imapflow restarts IDLE every maxIdleTime, and between its DONE and the new IDLE
        // it is not idling, so leaveIdle() would send nothing and the restart would go ahead; a queued NOOP stops it.
        await client.noop();
      } catch (err) {
        this.log.warn('desktop watcher: pausing for the sync failed', { error: (err as Error).message });
      }
    });
  }

  /**
   * The sync ended: the tasks put off meanwhile run, and a look at what changed (for desktop push, STATUS against
   * what the sync saw; for triggers, a NOOP, whose EXISTS starts a scan), then IDLE again.
   */
  release(): void {
    if (!this.held) return;
    this.held = false;
    const tasks = new Set([...this.putOff, this.sinks.changes ? 'check' : 'look'] as const);
    this.putOff.clear();
    for (const task of tasks) this.enqueue(task);
  }

  /** The Trash a sync uses (its summary's folders): watched from now on, if it is another than the one watched. */
  useTrash(path: string): void {
    if (!this.sinks.changes || path === this.trash) return;
    this.trash = path;
    if (this.client?.usable) this.enqueue('notify');
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const fallbacks = new ImapFallbacks(ImapFallbacks.serverOf(this.settings), this.store).onRefusal((r) =>
      this.log.warn('desktop watcher: the IMAP server refused a command it advertised; taking the plain path', { path: r.path, command: r.command, response: r.response }),
    );
    const client = new ImapFlow({
      ...imapClientOptions(this.settings, fallbacks),
      // imapflow would start IDLE only 15 s after the last command; we start it ourselves, at once.
      disableAutoIdle: true,
      maxIdleTime: 60_000,
    });
    this.client = client;
    this.fallbacks = fallbacks;
    this.triggerScan?.reset();
    client.on('error', (err: Error) => this.log.warn('desktop watcher: IMAP error', { error: err.message }));
    client.on('close', () => {
      this.backoff.disconnected(Date.now());
      this.gap = true;
      if (this.stopped) return;
      const delay = this.backoff.next();
      this.log.warn('desktop watcher: connection closed, reconnecting', { inMs: delay });
      this.timer = setTimeout(() => void this.connect(), delay);
    });
    // While a request holds the connection the selected folder may be another: the check that follows it looks at INBOX.
    client.on('exists', () => {
      if (this.lent) return;
      this.sinks.changes?.changed('new mail');
      if (this.sinks.triggers) this.enqueue('scan');
    });
    client.on('expunge', () => {
      if (!this.ownExpunge && !this.lent) this.sinks.changes?.changed('expunge');
    });
    client.on('flags', () => {
      if (!this.ownExpunge && !this.lent) this.sinks.changes?.changed('flags');
    });
    try {
      await client.connect();
      fallbacks.connected(client.capabilities.keys());
      await client.mailboxOpen('INBOX');
      if (this.sinks.changes) {
        this.trash ??= await this.findTrash(client);
        this.hearNotify(client);
      }
      this.backoff.connected(Date.now());
      this.log.info('desktop watcher: watching INBOX', { idle: this.canIdle(client), notify: this.canNotify(client), trash: this.trash ?? null });
      for (const waiter of [...this.upWaiters]) waiter();
      if (this.sinks.changes) this.enqueue('notify');
      if (this.sinks.triggers) this.enqueue('scan');
      if (this.sinks.changes) this.enqueue('check');
      this.watchForSilence(client);
      this.poll(client);
    } catch (err) {
      this.log.warn('desktop watcher: cannot connect', { error: (err as Error).message });
      client.close();
    }
  }

  /** Trash as the sync finds it (imap/folders.ts), without creating it: the sync does that, and tells us (useTrash). */
  private async findTrash(client: ImapFlow): Promise<string | undefined> {
    try {
      const listed = await client.list();
      const folders = listed.map((f) => ({ path: f.path, name: f.name, delimiter: f.delimiter, flags: f.flags, ...(f.specialUse && f.specialUseSource === 'extension' ? { specialUse: f.specialUse } : {}) }));
      return chooseFolder('trash', folders, client.namespace?.prefix ?? '', this.settings.trashFolder)?.path;
    } catch {
      return undefined;
    }
  }

  /** NOTIFY's STATUS responses (RFC 5465 §5.2) come outside any command of ours: a global handler hears them. */
  private hearNotify(client: ImapFlow): void {
    // imapflow has no handler for an untagged STATUS outside its own STATUS command; `untaggedHandlers` is its table.
    const handlers = (client as unknown as { untaggedHandlers: Record<string, (u: UntaggedStatus) => Promise<void>> }).untaggedHandlers;
    handlers.STATUS = async (untagged) => this.heardStatus(client, parseStatus(untagged));
  }

  /** A STATUS we did not ask for: Trash changed (NOTIFY), perhaps only in what a sync does not look at (\Recent). */
  private heardStatus(client: ImapFlow, { name, status }: ReturnType<typeof parseStatus>): void {
    if (this.trash && name === encodePath(client, this.trash)) this.sinks.changes?.trashNotified(status);
    else this.sinks.changes?.changed(`status of ${name ?? 'a folder'}`);
  }

  /**
   * Look every pollSeconds (default 20) as well: a server without IDLE tells
   * nothing by itself, and some that offer IDLE never notify in it (stock
   * Courier: IMAP_ENHANCEDIDLE=0). With working IDLE (and NOTIFY) a change is
   * heard at once; this only bounds the wait everywhere else.
   */
  private poll(client: ImapFlow): void {
    clearInterval(this.pollTimer);
    const everyMs = (this.settings.pollSeconds ?? DEFAULT_POLL_SECONDS) * 1000;
    if (!this.canIdle(client)) this.log.info('desktop watcher: the server has no IDLE (or refused it); polling', { everyMs });
    this.pollTimer = setInterval(() => {
      if (this.client !== client || !client.usable) return clearInterval(this.pollTimer);
      if (this.held) return;
      if (this.sinks.triggers) this.enqueue('scan');
      if (this.sinks.changes) this.enqueue('check');
    }, everyMs);
  }

  private watchForSilence(client: ImapFlow): void {
    clearInterval(this.keepalive);
    const everyMs = (this.settings.keepaliveSeconds ?? 60) * 1000;
    let checking = false;
    this.keepalive = setInterval(() => {
      if (checking || this.client !== client || !client.usable) return;
      checking = true;
      const deadline = setTimeout(() => {
        this.log.warn('desktop watcher: IMAP server silent, reconnecting', { silentMs: everyMs / 2 });
        clearInterval(this.keepalive);
        client.close();
      }, everyMs / 2);
      client
        .noop()
        .then(() => {
          clearTimeout(deadline);
          this.idle(client);
        })
        .catch(() => clearTimeout(deadline))
        .finally(() => (checking = false));
    }, everyMs);
  }

  private canIdle(client: ImapFlow): boolean {
    return client.capabilities.has('IDLE') && !this.fallbacks?.refused('idle');
  }

  private canNotify(client: ImapFlow): boolean {
    return client.capabilities.has('NOTIFY') && !this.fallbacks?.refused('notify');
  }

  /** Wait in IDLE for the next notification, where the server has IDLE and has not refused it. */
  private idle(client: ImapFlow): void {
    const fallbacks = this.fallbacks;
    if (this.lent || this.held || !client.usable || !fallbacks || !this.canIdle(client) || this.waiting.size > 0) return;
    client
      .idle()
      .then((ran) => {
        // imapflow reports a refused IDLE by returning false (and polls by itself from then on).
        const err = ran === false ? fallbacks.takeLastError() : undefined;
        if (fallbacks.refuses('idle', err)) fallbacks.record('idle', err);
      })
      .catch(() => undefined);
  }

  /**
   * Run a task after those before it (once, however often asked meanwhile); back to IDLE when none waits.
   * While held none runs: release() asks for it again.
   */
  private enqueue(task: WatcherTask): void {
    if (this.waiting.has(task)) return;
    this.waiting.add(task);
    this.work = this.work.then(async () => {
      this.waiting.delete(task);
      const client = this.client;
      const fallbacks = this.fallbacks;
      if (!client || !client.usable || !fallbacks) return;
      if (this.held) {
        this.putOff.add(task);
        return;
      }
      try {
        await leaveIdle(client);
        if (task === 'scan') await this.triggerScan?.scan(client, fallbacks);
        else if (task === 'check') await this.check(client, fallbacks);
        else if (task === 'notify') await this.notify(client, fallbacks);
        else await client.noop();
      } catch (err) {
        this.log.warn(`desktop watcher: ${task} failed`, { error: (err as Error).message });
      } finally {
        // Back to IDLE: the next notification comes within a second (any command we send breaks it).
        this.idle(client);
      }
    });
  }

  /** NOTIFY SET (RFC 5465 §3): the selected INBOX's changes as always, and Trash's as STATUS responses. */
  private async notify(client: ImapFlow, fallbacks: ImapFallbacks): Promise<void> {
    if (!this.canNotify(client)) return;
    const exec = (client as unknown as { exec: Exec }).exec.bind(client);
    const groups: unknown[] = [[{ type: 'ATOM', value: 'SELECTED' }, EVENTS]];
    if (this.trash) groups.push([{ type: 'ATOM', value: 'MAILBOXES' }, { type: 'STRING', value: encodePath(client, this.trash) }, EVENTS]);
    const done = await fallbacks.attempt('notify', 'NOTIFY SET', async () => {
      const response = await exec('NOTIFY', [{ type: 'ATOM', value: 'SET' }, ...groups]);
      response.next();
      return true;
    });
    if (done === REFUSED) this.log.info('desktop watcher: NOTIFY refused; Trash is looked at every imap.pollSeconds');
  }

  /**
   * "Anything new?": a NOOP (the selected INBOX's pending changes arrive as
   * EXISTS, EXPUNGE and FETCH), then STATUS of INBOX and Trash, for the
   * change plan to compare with what the last sync saw.
   */
  private async check(client: ImapFlow, fallbacks: ImapFallbacks): Promise<void> {
    const afterGap = this.gap;
    this.gap = false;
    // STATUS of the selected folder answers from this session's view, which a NOOP brings up to date (RFC 3501 §6.3.10).
    await client.noop();
    const modseq = client.capabilities.has('CONDSTORE') && !fallbacks.refused('condstore');
    const now: Partial<Record<FolderRole, FolderStatus>> = {};
    const inbox = await this.status(client, fallbacks, 'INBOX', modseq);
    if (inbox) now.inbox = inbox;
    const trash = this.trash ? await this.status(client, fallbacks, this.trash, modseq) : undefined;
    if (trash) now.trash = trash;
    this.sinks.changes?.status(now, afterGap);
  }

  /** STATUS of one folder, sent by hand: an untagged STATUS of another folder (NOTIFY) must not be taken for its answer. */
  private async status(client: ImapFlow, fallbacks: ImapFallbacks, path: string, modseq: boolean): Promise<FolderStatus | undefined> {
    const exec = (client as unknown as { exec: Exec }).exec.bind(client);
    const encoded = encodePath(client, path);
    const items = ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', ...(modseq ? ['HIGHESTMODSEQ'] : [])];
    let found: FolderStatus | undefined;
    const run = async () => {
      found = undefined;
      const response = await exec('STATUS', [{ type: 'STRING', value: encoded }, items.map((value) => ({ type: 'ATOM', value }))], {
        untagged: {
          STATUS: (untagged) => {
            const heard = parseStatus(untagged);
            const ours = heard.name === encoded || (path === 'INBOX' && heard.name?.toUpperCase() === 'INBOX');
            if (ours) found = heard.status;
            else this.heardStatus(client, heard);
          },
        },
      });
      response.next();
      return true;
    };
    const answered = modseq ? await fallbacks.attempt('condstore', `STATUS ${path} (HIGHESTMODSEQ)`, run) : await run();
    // A server that refuses STATUS (… HIGHESTMODSEQ) has CONDSTORE in name only: counts and UIDNEXT then.
    if (answered === REFUSED) return this.status(client, fallbacks, path, false);
    return found;
  }
}
