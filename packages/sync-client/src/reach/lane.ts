/**
 * The interactive lane (docs/reach.md): the IMAP connection requests from the
 * phone run on, so they never wait behind a sync or a big upload. The agent
 * keeps at most two IMAP connections per account: the sync's, and this one —
 * the desktop watcher's connection, which otherwise waits in IDLE
 * (daemon/desktop-watcher.ts `run`), or a
 * connection of the lane's own, made when the first request comes, where the
 * agent runs without one (trigger e-mails and desktop push both off).
 *
 * Requests on the lane run one at a time (an IMAP connection has one
 * selected folder).
 */
import { ImapFlow } from 'imapflow';
import type { Logger } from '@twinbox/protocol';
import { imapClientOptions, type ImapSettings } from '../imap/desktop-imap.js';
import { ImapFallbacks, type RefusalMemory } from '../imap/fallbacks.js';
import { RequestFailure } from './failure.js';

export interface LaneContext {
  client: ImapFlow;
  fallbacks: ImapFallbacks;
  settings: ImapSettings;
}

export interface ImapLane {
  run<T>(work: (lane: LaneContext) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A lane on a connection of its own (trigger e-mails off: no watcher connection to borrow). */
export class OwnLane implements ImapLane {
  private client: ImapFlow | undefined;
  private fallbacks: ImapFallbacks | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly settings: ImapSettings,
    private readonly memory: RefusalMemory,
    private readonly log: Logger,
  ) {}

  run<T>(work: (lane: LaneContext) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => work(await this.connected()));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async connected(): Promise<LaneContext> {
    if (this.client?.usable && this.fallbacks) return { client: this.client, fallbacks: this.fallbacks, settings: this.settings };
    this.client?.close();
    const fallbacks = new ImapFallbacks(ImapFallbacks.serverOf(this.settings), this.memory);
    const client = new ImapFlow({ ...imapClientOptions(this.settings, fallbacks), disableAutoIdle: true });
    client.on('error', (err: Error) => this.log.warn('request lane: IMAP error', { error: err.message }));
    try {
      await client.connect();
    } catch (err) {
      throw new RequestFailure('UNAVAILABLE', `cannot reach the desktop IMAP server: ${(err as Error).message}`);
    }
    fallbacks.connected(client.capabilities.keys());
    this.client = client;
    this.fallbacks = fallbacks;
    return { client, fallbacks, settings: this.settings };
  }

  async close(): Promise<void> {
    await this.client?.logout().catch(() => this.client?.close());
    this.client = undefined;
  }
}
