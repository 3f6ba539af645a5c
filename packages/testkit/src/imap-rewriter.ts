/**
 * A loopback proxy in front of the test Dovecot that removes from its
 * answers what a real server of another kind would not send (issue 10):
 * the untagged `* OK [UIDNEXT n]` of SELECT (Courier), and the UIDPLUS
 * response codes `[APPENDUID …]` / `[COPYUID …]` (a server without UIDPLUS).
 * Dovecot sends them whatever it advertises, so without this the agent's
 * fallbacks would never run in a test.
 *
 * Server output is read line by line, and literals (`{n}` at a line's end,
 * then n raw bytes: message bodies) are passed through untouched, so no
 * message byte is ever rewritten.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface RewriteRules {
  uidNext?: boolean;
  uidplusCodes?: boolean;
}

/** Rewrite one complete server line (without its CRLF); undefined drops it. */
export function rewriteLine(line: string, rules: RewriteRules): string | undefined {
  if (rules.uidNext && /^\* OK \[UIDNEXT \d+\]/i.test(line)) return undefined;
  if (rules.uidplusCodes) return line.replace(/\[(APPENDUID|COPYUID) [^\]]*\] ?/i, '');
  return line;
}

/** A stream transformer for server → client bytes. */
export function serverStreamRewriter(rules: RewriteRules): (chunk: Buffer) => Buffer {
  let pending = Buffer.alloc(0);
  let literal = 0;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      if (literal > 0) {
        const take = Math.min(literal, pending.length);
        out.push(pending.subarray(0, take));
        pending = pending.subarray(take);
        literal -= take;
        if (literal > 0) break;
        continue;
      }
      const end = pending.indexOf('\r\n');
      if (end < 0) break;
      const line = pending.subarray(0, end).toString('latin1');
      pending = pending.subarray(end + 2);
      const size = /\{(\d+)\}$/.exec(line);
      if (size) {
        literal = Number(size[1]);
        out.push(Buffer.from(`${line}\r\n`, 'latin1'));
        continue;
      }
      const rewritten = rewriteLine(line, rules);
      if (rewritten !== undefined) out.push(Buffer.from(`${rewritten}\r\n`, 'latin1'));
    }
    return Buffer.concat(out);
  };
}

export class ImapRewriter {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }, rules: RewriteRules): Promise<ImapRewriter> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('rewriter: no port');
    const proxy = new ImapRewriter(server, address.port);
    server.on('connection', (client) => {
      const upstream = createConnection(target.port, target.host);
      const rewrite = serverStreamRewriter(rules);
      for (const s of [client, upstream]) proxy.sockets.add(s);
      const end = () => {
        client.destroy();
        upstream.destroy();
        proxy.sockets.delete(client);
        proxy.sockets.delete(upstream);
      };
      client.on('data', (d: Buffer) => upstream.write(d));
      upstream.on('data', (d: Buffer) => {
        const out = rewrite(d);
        if (out.length > 0) client.write(out);
      });
      for (const s of [client, upstream]) {
        s.on('error', end);
        s.on('close', end);
      }
    });
    return proxy;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
