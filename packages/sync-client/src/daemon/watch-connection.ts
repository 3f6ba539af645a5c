/**
 * The agent's presence at the server between syncs: a `watch` connection,
 * kept open with the server's heartbeats, over which the server asks for a
 * sync as soon as something changes on the phone or the user taps "sync now"
 * (docs/spec.md §9 live push), and over which the agent's syncs run (`open`: no
 * TLS handshake or login per sync, issue 11). Re-made with backoff when it
 * drops; a server silent for longer than the heartbeat timeout counts as
 * dropped.
 */
import { LIMITS, PROTOCOL_VERSION, REQUESTS_VERSION, TwinboxError, type Logger } from '@twinbox/protocol';
import type { AgentConfig } from '../config.js';
import type { RequestServer } from '../reach/request-server.js';
import { SyncConnection } from '../transport/connection.js';
import { Backoff } from './backoff.js';

export class WatchConnection {
  private stopped = false;
  private conn: SyncConnection | undefined;
  private readonly backoff = new Backoff();
  private timer: NodeJS.Timeout | undefined;
  private watching = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly agentId: string,
    private readonly onRequest: (reason: 'phoneChange' | 'syncNow') => void,
    private readonly log: Logger,
    /** Answers the server's requests about the desktop mailbox (docs/reach.md); without it the agent offers none. */
    private readonly requests?: RequestServer,
  ) {}

  start(): void {
    void this.run();
  }

  /** The open connection, for a sync to run over (undefined while there is none). */
  get open(): SyncConnection | undefined {
    return this.conn && !this.conn.failed && this.watching ? this.conn : undefined;
  }

  /** A sync over the connection failed half-way: the server's session is not at rest, so start afresh. */
  reset(): void {
    this.conn?.close();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.conn?.close();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const conn = await SyncConnection.open(this.config.server);
        this.conn = conn;
        const requests = this.requests;
        if (requests) conn.onLaneFrame = (frame) => requests.handle(conn, frame);
        conn.send({
          type: 'watch',
          version: PROTOCOL_VERSION,
          accountId: this.config.account,
          token: this.config.token,
          agentId: this.agentId,
          ...(requests ? { requests: REQUESTS_VERSION } : {}),
        });
        await conn.expect('watching');
        conn.onSyncRequest = (reason) => this.onRequest(reason);
        this.watching = true;
        this.backoff.connected(Date.now());
        this.log.info('watching the server for sync requests');
        await this.listen(conn);
      } catch (err) {
        if (this.stopped) return;
        const code = err instanceof TwinboxError ? err.code : 'CONNECTION_LOST';
        if (code === 'AUTH_FAILED' || code === 'CERT_MISMATCH' || code === 'VERSION_MISMATCH') {
          this.log.error('watch connection refused; live push is off until the agent is re-paired', { code, error: (err as Error).message });
          return;
        }
        this.log.warn('watch connection lost', { code, error: (err as Error).message });
      }
      this.watching = false;
      this.requests?.dropped();
      this.conn?.close();
      this.backoff.disconnected(Date.now());
      if (this.stopped) return;
      await new Promise((resolve) => (this.timer = setTimeout(resolve, this.backoff.next())));
    }
  }

  /** Sync requests arrive through onSyncRequest (also in the middle of a sync over this connection); here only liveness is watched. */
  private async listen(conn: SyncConnection): Promise<void> {
    for (;;) {
      await conn.watchFor(LIMITS.heartbeatIntervalMs);
      if (Date.now() - conn.lastHeard > LIMITS.heartbeatTimeoutMs) throw new TwinboxError('CONNECTION_LOST', 'the server went silent');
    }
  }
}
