/**
 * A TCP proxy on loopback that adds latency: every chunk is forwarded half
 * the round-trip time later, in each direction, in order (`tc netem` is not
 * available on these machines). For the benchmarks' slow-link figures.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export class LatencyProxy {
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((client) => this.link(client));
  port = 0;

  private constructor(
    private readonly target: { host: string; port: number },
    /** Added to every round trip, in ms. */
    readonly rttMs: number,
  ) {}

  /** Listen on a loopback port and forward to `target`, adding `rttMs` to every round trip. */
  static async start(target: { host: string; port: number }, rttMs: number): Promise<LatencyProxy> {
    const proxy = new LatencyProxy(target, rttMs);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  private link(client: Socket): void {
    const upstream = createConnection({ host: this.target.host, port: this.target.port });
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    }
    this.forward(client, upstream);
    this.forward(upstream, client);
  }

  /** Chunks from `from` reach `to` half a round trip later; timers of equal delay fire in order, so order is kept. */
  private forward(from: Socket, to: Socket): void {
    const oneWay = this.rttMs / 2;
    from.on('data', (chunk) => setTimeout(() => to.writable && to.write(chunk), oneWay));
    from.on('end', () => setTimeout(() => to.end(), oneWay));
    from.on('error', () => to.destroy());
    from.on('close', () => setTimeout(() => to.destroy(), oneWay));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
