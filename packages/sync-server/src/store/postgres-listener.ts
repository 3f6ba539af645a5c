/**
 * The PostgreSQL engine's LISTEN connection (postgres-engine.ts; docs/scaling.md): one per node, held for
 * as long as it runs, on which every node hears what the others NOTIFY — checked, and made again when it
 * drops or goes silent.
 */
import pg from 'pg';
import { runAfterCommit } from './engine.js';

/** The one channel every node listens on; a notification's payload is `{ t: topic, d: data }` as JSON. */
export const CHANNEL = 'twinbox';

/** How often the listening connection is checked, and how long it may take to answer (probeListener). */
const LISTEN_PROBE_MS = 15_000;
const LISTEN_PROBE_TIMEOUT_MS = 10_000;

export interface ListenerOptions {
  url: string;
  applicationName: string;
  types: pg.CustomTypesConfig;
  /** How often the connection is checked (default 15 s). */
  probeMs?: number;
}

export class PostgresListener {
  private readonly probeMs: number;
  private readonly handlers: ((topic: string, data: unknown) => void)[] = [];
  private client: pg.Client | undefined;
  private closing = false;

  constructor(private readonly options: ListenerOptions) {
    this.probeMs = options.probeMs ?? LISTEN_PROBE_MS;
  }

  async listen(handler: (topic: string, data: unknown) => void): Promise<void> {
    this.handlers.push(handler);
    if (!this.client) await this.connectListener();
  }

  /**
   * LISTEN needs a connection of its own, held for as long as the node runs
   * (a pooler in transaction mode cannot carry it: `store.listenUrl` may name the
   * database directly). When it drops, it is made again within seconds;
   * what was notified meanwhile is missed (docs/scaling.md says what that costs).
   */
  private async connectListener(): Promise<void> {
    // TCP keepalive: a connection cut without a close (a failover, a NAT that forgot it) ends and is made again.
    const client = new pg.Client({ connectionString: this.options.url, application_name: this.options.applicationName, types: this.options.types, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    client.on('error', () => undefined);
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      let note: { t: string; d: unknown };
      try {
        note = JSON.parse(message.payload) as { t: string; d: unknown };
      } catch {
        return;
      }
      runAfterCommit(this.handlers.map((listener) => () => listener(note.t, note.d)));
    });
    client.on('end', () => {
      if (this.client !== client) return;
      this.client = undefined;
      if (!this.closing) this.reconnectListener(1);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    this.probeListener(client);
  }

  /**
   * The listening connection is asked something every `probeMs`: one that does not answer within
   * LISTEN_PROBE_TIMEOUT_MS (or that interval, if shorter) is dropped and made again — TCP keepalive alone takes minutes to notice a
   * connection that a failover or a NAT cut without a word, and a node would hear nothing meanwhile.
   */
  private probeListener(client: pg.Client): void {
    const timer = setInterval(() => {
      if (this.client !== client) return clearInterval(timer);
      const answered = client.query('SELECT 1');
      answered.catch(() => undefined);
      let late: NodeJS.Timeout | undefined;
      const tooLate = new Promise((_, reject) => {
        late = setTimeout(() => reject(new Error('no answer')), Math.min(LISTEN_PROBE_TIMEOUT_MS, this.probeMs));
        late.unref();
      });
      Promise.race([answered, tooLate]).then(() => clearTimeout(late), () => {
        clearTimeout(late);
        clearInterval(timer);
        if (this.client !== client) return;
        this.client = undefined;
        cut(client);
        if (!this.closing) this.reconnectListener(1);
      });
    }, this.probeMs);
    timer.unref();
  }

  private reconnectListener(attempt: number): void {
    setTimeout(() => {
      if (this.closing || this.client) return;
      this.connectListener().catch(() => this.reconnectListener(attempt + 1));
    }, Math.min(10_000, 250 * 2 ** attempt)).unref();
  }

  async close(): Promise<void> {
    this.closing = true;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // A dead connection never answers end(): after a moment it is cut.
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([client.end().catch(() => undefined), new Promise<void>((resolve) => (waited = setTimeout(resolve, 2_000)))]);
    clearTimeout(waited);
    cut(client);
  }
}

/** Close a connection at once (end() waits for PostgreSQL's answer, which a dead connection never gives). */
function cut(client: pg.Client): void {
  (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
}
