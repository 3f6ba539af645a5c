/**
 * A TCP proxy on loopback between a client and a server, for the fault tests:
 * it forwards bytes both ways and can break the link the ways networks do —
 * cut it (a reset) after the Nth unit of traffic, silence the open
 * connections (stop forwarding without closing), cut every open connection
 * at once, or refuse new ones.
 *
 * A unit is a TLS record in either direction (`unit: 'tls-records'`, for the
 * sync link, whose frames are inside TLS) or a line the client sends
 * (`unit: 'client-lines'`, for plain IMAP on loopback: each command, and each
 * line of an APPENDed message).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type ProxyUnit = 'tls-records' | 'client-lines';

interface Link {
  client: Socket;
  upstream: Socket;
  silenced: boolean;
}

/** Counts TLS records in one direction of a stream: a 5-byte header whose last two bytes are the length. */
function tlsRecordCounter(): (chunk: Buffer) => number {
  let header = Buffer.alloc(0);
  let remaining = 0;
  return (chunk) => {
    let records = 0;
    let at = 0;
    while (at < chunk.length) {
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length - at);
        remaining -= take;
        at += take;
        if (remaining === 0) records++;
        continue;
      }
      const take = Math.min(5 - header.length, chunk.length - at);
      header = Buffer.concat([header, chunk.subarray(at, at + take)]);
      at += take;
      if (header.length === 5) {
        remaining = header.readUInt16BE(3);
        header = Buffer.alloc(0);
        if (remaining === 0) records++;
      }
    }
    return records;
  };
}

function lineCounter(): (chunk: Buffer) => number {
  return (chunk) => {
    let lines = 0;
    for (const byte of chunk) if (byte === 0x0a) lines++;
    return lines;
  };
}

export class LoopbackProxy {
  /** Units seen since start or the last `cutAfter`. */
  units = 0;
  /** Connections accepted so far. */
  connections = 0;
  /** Links cut by `cutAfter` or `cutAll`. */
  cuts = 0;
  private readonly links = new Set<Link>();
  private cutAt: number | undefined;
  private refusing = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
    private readonly unit: ProxyUnit,
  ) {}

  static async start(target: { host?: string; port: number }, unit: ProxyUnit): Promise<LoopbackProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('proxy: no port');
    const proxy = new LoopbackProxy(server, address.port, { host: target.host ?? '127.0.0.1', port: target.port }, unit);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  /** Cut the link (reset both ends) once N more units have passed; one cut, then forward normally. */
  cutAfter(n: number): void {
    this.units = 0;
    this.cutAt = n;
  }

  resetUnits(): void {
    this.units = 0;
  }

  /**
   * Stop forwarding on every open connection and keep its sockets open: the
   * peers see silence, not a close, as after a NAT forgot the connection.
   * Connections opened later are forwarded as usual.
   */
  silenceOpen(): void {
    for (const link of this.links) link.silenced = true;
  }

  /** Refuse new connections (closed at once), as a server that is down. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Reset every open connection now. */
  cutAll(): void {
    for (const link of [...this.links]) this.cut(link);
  }

  get open(): number {
    return this.links.size;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.connections++;
    if (this.refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(this.target.port, this.target.host);
    const link: Link = { client, upstream, silenced: false };
    this.links.add(link);
    let dead = false;
    const end = () => {
      if (dead) return;
      dead = true;
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    const count = this.unit === 'tls-records' ? [tlsRecordCounter(), tlsRecordCounter()] : [lineCounter(), () => 0];
    const pipe = (from: Socket, to: Socket, counter: (chunk: Buffer) => number) => {
      from.on('data', (chunk: Buffer) => {
        if (dead || link.silenced) return;
        to.write(chunk);
        this.units += counter(chunk);
        if (this.cutAt !== undefined && this.units >= this.cutAt) {
          this.cutAt = undefined;
          // Let the chunk that reached the limit leave, then reset: the peer may or may not have read it.
          setImmediate(() => this.cut(link));
        }
      });
      from.on('end', () => to.end());
      from.on('error', end);
      from.on('close', end);
    };
    pipe(client, upstream, count[0]!);
    pipe(upstream, client, count[1]!);
  }

  private cut(link: Link): void {
    if (!this.links.has(link)) return;
    this.links.delete(link);
    this.cuts++;
    link.client.resetAndDestroy();
    link.upstream.resetAndDestroy();
  }
}
