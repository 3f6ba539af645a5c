/**
 * Watches the desktop INBOX for trigger e-mails (SPEC §8, patent FIG. 11B) on
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
 */
import { ImapFlow } from 'imapflow';
import { TRIGGER_HEADER, parseHeaderFields, type Logger } from '@twinbox/protocol';
import { imapClientOptions, type ImapSettings } from '../imap/desktop-imap.js';
import { expungeExactly, uidSet } from '../imap/expunge.js';
import type { AgentStore } from '../store/agent-store.js';
import type { TriggerCheck } from '../triggers.js';
import { Backoff } from './backoff.js';

const HEADER = TRIGGER_HEADER.toLowerCase();
export const DEFAULT_POLL_SECONDS = 20;

export class TriggerWatcher {
  private client: ImapFlow | undefined;
  private stopped = false;
  private scanning: Promise<void> = Promise.resolve();
  private rescan = false;
  private readonly backoff = new Backoff();
  private timer: NodeJS.Timeout | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;

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

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new ImapFlow({
      ...imapClientOptions(this.settings),
      // imapflow would start IDLE only 15 s after the last command; we start it ourselves, at once.
      disableAutoIdle: true,
      maxIdleTime: 60_000,
    });
    this.client = client;
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
      await client.mailboxOpen('INBOX');
      this.backoff.connected(Date.now());
      this.log.info('trigger watcher: watching INBOX');
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
    if (!client.capabilities.has('IDLE')) this.log.info('trigger watcher: the server has no IDLE; polling', { everyMs });
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
          if (client.usable) client.idle().catch(() => undefined);
        })
        .catch(() => clearTimeout(deadline))
        .finally(() => (checking = false));
    }, everyMs);
  }

  /** Look at every message carrying the trigger header (catches triggers that arrived while the agent was down). */
  private scan(): void {
    if (this.rescan) return;
    this.rescan = true;
    this.scanning = this.scanning.then(async () => {
      this.rescan = false;
      const client = this.client;
      if (!client || !client.usable) return;
      try {
        const uids = await client.search({ header: { [HEADER]: '' } }, { uid: true });
        if (!uids || uids.length === 0) return;
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
          // Only this message: a plain EXPUNGE would also remove what the user merely marked \Deleted (issue 10).
          await expungeExactly(client, [m.uid]);
          fired = true;
        }
        if (fired) this.onTrigger();
      } catch (err) {
        this.log.warn('trigger watcher: scan failed', { error: (err as Error).message });
      } finally {
        // Back to IDLE: the next new-mail notice comes within a second (any command we send breaks it).
        if (client.usable && !this.rescan) client.idle().catch(() => undefined);
      }
    });
  }
}
