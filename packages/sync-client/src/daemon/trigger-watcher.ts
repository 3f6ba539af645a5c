/**
 * Watches the desktop INBOX for trigger e-mails (docs/spec.md §8, patent FIG. 11B) on
 * its own IMAP connection, in IMAP IDLE (RFC 2177) between new-mail
 * notifications, and every pollSeconds as well (no IDLE, or an IDLE that never
 * notifies). A valid trigger is
 * expunged for good, its nonce recorded, and a sync requested; an invalid,
 * expired or replayed one is left where it is, as ordinary mail.
 *
 * The connection is re-made with backoff when it drops. One that goes silent
 * without closing (a NAT or firewall that forgot it, a hung server) would
 * otherwise look like a quiet mailbox for as long as the socket lives, so
 * every keepaliveSeconds the watcher sends a NOOP (it breaks IDLE) and drops
 * the connection if no answer comes within half that time.
 *
 * Where the server advertises and refuses (imap/fallbacks.ts, issue 18): a
 * refused IDLE leaves the polling; a refused SEARCH HEADER is replaced by the
 * trigger header of the messages that arrived within a trigger's lifetime
 * (SEARCH SINCE, then FETCH of that one header field); a refused UID EXPUNGE
 * by the protected expunge, which never runs while the sync's does
 * (expunge.ts). Both connections share what was refused through the store.
 *
 * The connection is also the agent's interactive lane (docs/reach.md,
 * reach/lane.ts): a request from the phone borrows it between scans, leaving
 * IDLE (any command does), and when it is done INBOX is selected again and
 * scanned (a trigger may have come meanwhile), then IDLE resumes. So the
 * agent holds at most two IMAP connections: the sync's and this one.
 */
import { ImapFlow } from 'imapflow';
import { TRIGGER_HEADER, TRIGGER_LIFETIME_MS, parseHeaderFields, type Logger } from '@twinbox/protocol';
import { imapClientOptions, type ImapSettings } from '../imap/desktop-imap.js';
import { expungeExactly, uidSet } from '../imap/expunge.js';
import { ImapFallbacks, REFUSED } from '../imap/fallbacks.js';
import { sinceDayFor } from '../phases/window-floor.js';
import type { AgentStore } from '../store/agent-store.js';
import type { TriggerCheck } from '../triggers.js';
import { RequestFailure } from '../reach/failure.js';
import type { ImapLane, LaneContext } from '../reach/lane.js';
import { Backoff } from './backoff.js';

const HEADER = TRIGGER_HEADER.toLowerCase();
export const DEFAULT_POLL_SECONDS = 20;
/** How long a request waits for the watcher's connection to come up (the server's deadline may be shorter). */
const LANE_WAIT_MS = 15_000;

export class TriggerWatcher implements ImapLane {
  private client: ImapFlow | undefined;
  private fallbacks: ImapFallbacks | undefined;
  /** Where SEARCH HEADER is refused: the next UID to look at (0: the first scan on this connection). */
  private lookedBelow = 0;
  private stopped = false;
  private scanning: Promise<void> = Promise.resolve();
  private rescan = false;
  private readonly backoff = new Backoff();
  private timer: NodeJS.Timeout | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  /** A request holds the connection (no IDLE is started meanwhile). */
  private lent = false;
  /** Requests waiting for the connection to be up (the agent just started, or it reconnects). */
  private readonly upWaiters = new Set<() => void>();

  constructor(
    private readonly settings: ImapSettings,
    private readonly store: AgentStore,
    private readonly triggers: TriggerCheck,
    private readonly onTrigger: () => void,
    private readonly log: Logger,
  ) {}

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
   * Run a request of the interactive lane on this connection, between scans
   * (one at a time with them and with each other): see the module comment.
   */
  run<T>(work: (lane: LaneContext) => Promise<T>): Promise<T> {
    const run = this.scanning.then(async () => {
      if (!this.client?.usable || !this.fallbacks) await this.up(LANE_WAIT_MS);
      const client = this.client;
      const fallbacks = this.fallbacks;
      if (!client || !client.usable || !fallbacks) throw new RequestFailure('UNAVAILABLE', 'the desktop IMAP connection is not up now');
      this.lent = true;
      try {
        return await work({ client, fallbacks, settings: this.settings });
      } finally {
        this.lent = false;
        // The watcher expunges triggers: INBOX, selected read-write.
        if (client.usable && (!client.mailbox || client.mailbox.path !== 'INBOX' || client.mailbox.readOnly)) await client.mailboxOpen('INBOX').catch(() => client.close());
      }
    });
    this.scanning = run.then(
      () => undefined,
      () => undefined,
    );
    // Back to watching: what arrived in INBOX while the request ran, then IDLE (scan ends in it).
    void run.finally(() => this.scan()).catch(() => undefined);
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

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const fallbacks = new ImapFallbacks(ImapFallbacks.serverOf(this.settings), this.store).onRefusal((r) =>
      this.log.warn('trigger watcher: the IMAP server refused a command it advertised; taking the plain path', { path: r.path, command: r.command, response: r.response }),
    );
    const client = new ImapFlow({
      ...imapClientOptions(this.settings, fallbacks),
      // imapflow would start IDLE only 15 s after the last command; we start it ourselves, at once.
      disableAutoIdle: true,
      maxIdleTime: 60_000,
    });
    this.client = client;
    this.fallbacks = fallbacks;
    this.lookedBelow = 0;
    client.on('error', (err: Error) => this.log.warn('trigger watcher: IMAP error', { error: err.message }));
    client.on('close', () => {
      this.backoff.disconnected(Date.now());
      if (this.stopped) return;
      const delay = this.backoff.next();
      this.log.warn('trigger watcher: connection closed, reconnecting', { inMs: delay });
      this.timer = setTimeout(() => void this.connect(), delay);
    });
    client.on('exists', () => this.scan());
    try {
      await client.connect();
      fallbacks.connected(client.capabilities.keys());
      await client.mailboxOpen('INBOX');
      this.backoff.connected(Date.now());
      this.log.info('trigger watcher: watching INBOX');
      for (const waiter of [...this.upWaiters]) waiter();
      this.scan();
      this.watchForSilence(client);
      this.poll(client);
    } catch (err) {
      this.log.warn('trigger watcher: cannot connect', { error: (err as Error).message });
      client.close();
    }
  }

  /**
   * Look for triggers every pollSeconds (default 20) as well: a server without
   * IDLE tells nothing by itself, and some that offer IDLE never notify in it
   * (stock Courier: IMAP_ENHANCEDIDLE=0). With working IDLE a trigger is seen
   * at once; this only bounds the wait everywhere else.
   */
  private poll(client: ImapFlow): void {
    clearInterval(this.pollTimer);
    const everyMs = (this.settings.pollSeconds ?? DEFAULT_POLL_SECONDS) * 1000;
    if (!this.canIdle(client)) this.log.info('trigger watcher: the server has no IDLE (or refused it); polling', { everyMs });
    this.pollTimer = setInterval(() => {
      if (this.client !== client || !client.usable) return clearInterval(this.pollTimer);
      this.scan();
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
        this.log.warn('trigger watcher: IMAP server silent, reconnecting', { silentMs: everyMs / 2 });
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

  /** Wait in IDLE for the next new-mail notice, where the server has IDLE and has not refused it. */
  private idle(client: ImapFlow): void {
    const fallbacks = this.fallbacks;
    if (this.lent || !client.usable || !fallbacks || !this.canIdle(client)) return;
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
   * UIDs that may be trigger e-mails: those carrying the header (SEARCH
   * HEADER), or where the server refuses that search, every message that
   * arrived within a trigger's lifetime (SEARCH SINCE compares by date, so a
   * day more), each looked at once per connection (`lookAt`: from where the
   * next scan looks, once this one is done).
   */
  private async candidates(client: ImapFlow, fallbacks: ImapFallbacks): Promise<{ uids: number[]; lookAt: number }> {
    if (!fallbacks.refused('searchHeader')) {
      const found = await fallbacks.attempt('searchHeader', 'SEARCH HEADER in INBOX', () => client.search({ header: { [HEADER]: '' } }, { uid: true }));
      if (found !== REFUSED) return { uids: found, lookAt: this.lookedBelow };
    }
    const recent = await client.search({ since: new Date(sinceDayFor(Date.now() - TRIGGER_LIFETIME_MS)) }, { uid: true });
    if (!recent) throw fallbacks.takeLastError() ?? new Error('SEARCH SINCE failed');
    return { uids: recent.filter((uid) => uid >= this.lookedBelow), lookAt: recent.reduce((next, uid) => Math.max(next, uid + 1), this.lookedBelow) };
  }

  /** Look at every message carrying the trigger header (catches triggers that arrived while the agent was down). */
  private scan(): void {
    if (this.rescan) return;
    this.rescan = true;
    this.scanning = this.scanning.then(async () => {
      this.rescan = false;
      const client = this.client;
      const fallbacks = this.fallbacks;
      if (!client || !client.usable || !fallbacks) return;
      try {
        const { uids, lookAt } = await this.candidates(client, fallbacks);
        if (uids.length === 0) return;
        let fired = false;
        for (const m of await client.fetchAll(uidSet(uids), { uid: true, headers: [HEADER] }, { uid: true })) {
          const value = parseHeaderFields(m.headers?.toString('latin1') ?? '').get(HEADER);
          if (!value) continue;
          const verdict = this.triggers.verdict(value);
          if (!verdict.valid) {
            this.log.info('trigger watcher: ignoring a trigger e-mail', { uid: m.uid, reason: verdict.reason });
            continue;
          }
          // Record the nonce first: if we die before the expunge, the message is a replay, not a second sync.
          this.store.transaction(() => this.store.recordNonce(verdict.claims.nonce, verdict.claims.expires));
          // Only this message: a plain EXPUNGE would also remove what the user merely marked \Deleted (issue 10),
          // and never while the sync expunges on its own connection (expunge.ts, issue 18).
          await expungeExactly(client, fallbacks, [m.uid]);
          fired = true;
        }
        this.lookedBelow = lookAt;
        if (fired) this.onTrigger();
      } catch (err) {
        this.log.warn('trigger watcher: scan failed', { error: (err as Error).message });
      } finally {
        // Back to IDLE: the next new-mail notice comes within a second (any command we send breaks it).
        if (!this.rescan) this.idle(client);
      }
    });
  }
}
