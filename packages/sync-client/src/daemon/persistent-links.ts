/**
 * The background agent's links, kept open between syncs (issue 11, seed
 * US9130894: "anything new?" must cost next to nothing): the IMAP connection
 * of the last sync, while the server keeps it usable, and the watch
 * connection to the server, over which each sync runs. A sync that fails
 * half-way drops both (the server's session and the IMAP folder state are
 * not known to be at rest); the next one makes them again.
 */
import type { Logger } from '@twinbox/protocol';
import type { AgentConfig } from '../config.js';
import { DesktopImap } from '../imap/desktop-imap.js';
import type { RefusalMemory } from '../imap/fallbacks.js';
import type { SyncLinks } from '../sync.js';
import { SyncConnection } from '../transport/connection.js';
import type { WatchConnection } from './watch-connection.js';

export class PersistentLinks implements SyncLinks {
  private desktop: DesktopImap | undefined;
  /** The server connection of the sync under way, and whether it is the watch connection (kept) or its own. */
  private current: { conn: SyncConnection; shared: boolean } | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly watch: WatchConnection | undefined,
    private readonly log: Logger,
    /** What the IMAP server refused, kept between connections (the agent store). */
    private readonly memory?: RefusalMemory,
  ) {}

  /** How long a kept IMAP connection has to answer a NOOP before it counts as dead: the keepalive, at most 15 s. */
  private answerTimeoutMs(): number {
    return Math.min(this.config.imap.keepaliveSeconds ?? 60, 15) * 1000;
  }

  async imap(): Promise<DesktopImap> {
    // A kept connection must still answer: one that went silent without closing would hang the sync.
    if (this.desktop && !(this.desktop.usable && (await this.desktop.answers(this.answerTimeoutMs())))) {
      this.log.warn('the kept IMAP connection does not answer, reconnecting');
      await this.desktop.close();
      this.desktop = undefined;
    }
    // What the server refused since (the desktop watcher's connection may have met a refusal): the paths again.
    this.desktop?.choosePaths();
    this.desktop ??= await DesktopImap.connect(this.config.imap, (message) => this.log.warn(message), this.memory);
    return this.desktop;
  }

  async server(): Promise<SyncConnection> {
    const shared = this.watch?.open;
    this.current = shared ? { conn: shared, shared: true } : { conn: await SyncConnection.open(this.config.server), shared: false };
    return this.current.conn;
  }

  async release(completed: boolean): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (current && !current.shared) current.conn.close();
    if (completed) {
      // INBOX stays selected between syncs: the next one asks it "anything new?" for the price of a NOOP.
      await this.desktop?.keepSelected('inbox').catch(() => this.close());
      return;
    }
    if (current?.shared) this.watch?.reset();
    await this.close();
  }

  /** The agent stops. */
  async close(): Promise<void> {
    const desktop = this.desktop;
    this.desktop = undefined;
    await desktop?.close();
  }
}
