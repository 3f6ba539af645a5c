/**
 * A loopback proxy in front of the test Dovecot that makes it answer as a
 * real server of another kind would (issues 10 and 18):
 *
 * - server → agent: removes what such a server never sends — the untagged
 *   `* OK [UIDNEXT n]` of SELECT (Courier), the UIDPLUS response codes
 *   `[APPENDUID …]` / `[COPYUID …]` (a server without UIDPLUS) — and adds an
 *   extension to `* ENABLED` that the server would enable (Courier's
 *   UTF8=ACCEPT, which Dovecot 2.3 lacks). Dovecot sends the former whatever
 *   it advertises, so without this the agent's fallbacks would never run.
 * - agent → server: refuses commands the posed server advertises and then
 *   refuses (stock Courier's SORT in another charset than UTF-8, a SORT an
 *   administrator disabled, a MOVE or UID EXPUNGE or QRESYNC form a server
 *   does not really do …). A refused command never reaches Dovecot: the proxy
 *   answers it with the tagged NO or BAD that server sends.
 *
 * Both directions are read line by line, and literals (`{n}` / `{n+}` at a
 * line's end, then n raw bytes: message bodies) are passed through untouched,
 * so no message byte is ever rewritten. A refusal is written to the agent
 * between two of the server's lines, never inside one.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A command the posed server refuses: `command` is tested on its first line, without the tag. */
export interface RefusalRule {
  command: RegExp;
  /**
   * The tagged answer without the tag, e.g. `BAD [BADCHARSET] Only UTF-8
   * charset is valid after enabling RFC 6855 support`; or `close`: the
   * connection drops instead of any answer (a failure that is no refusal).
   */
  answer: string | 'close';
}

export interface RewriteRules {
  uidNext?: boolean;
  uidplusCodes?: boolean;
  /** Extensions added to the server's `* ENABLED` answer (the posed server enables them; Dovecot does not know them). */
  enabled?: string[];
  refuse?: RefusalRule[];
}

/** Do these rules need a proxy at all? */
export function needsRewriter(rules: RewriteRules): boolean {
  return Boolean(rules.uidNext || rules.uidplusCodes || rules.enabled?.length || rules.refuse?.length);
}

/** Rewrite one complete server line (without its CRLF); undefined drops it. */
export function rewriteLine(line: string, rules: RewriteRules): string | undefined {
  if (rules.uidNext && /^\* OK \[UIDNEXT \d+\]/i.test(line)) return undefined;
  if (rules.enabled?.length && /^\* ENABLED\b/i.test(line)) {
    const have = new Set(line.split(' ').slice(2).map((e) => e.toUpperCase()));
    return [line, ...rules.enabled.filter((e) => !have.has(e.toUpperCase()))].join(' ');
  }
  if (rules.uidplusCodes) return line.replace(/\[(APPENDUID|COPYUID) [^\]]*\] ?/i, '');
  return line;
}

/** The size of a literal announced at the end of a line (`{12}` or `{12+}`), and whether it is synchronizing. */
function literalAt(line: string): { size: number; sync: boolean } | undefined {
  const m = /\{(\d+)(\+?)\}$/.exec(line);
  return m ? { size: Number(m[1]), sync: m[2] !== '+' } : undefined;
}

/** Server → agent bytes: `push` rewrites what the server sent; `inject` adds a line of our own between two of its lines. */
export class ServerStream {
  private pending = Buffer.alloc(0);
  private literal = 0;
  private readonly queued: string[] = [];
  /** ENABLE commands awaiting their answer, and whether an `* ENABLED` came for the one under way. */
  private readonly enabling = new Set<string>();
  private enabledSeen = false;

  constructor(private readonly rules: RewriteRules) {}

  /** The agent sent ENABLE under this tag: Dovecot says nothing of extensions it does not know, the posed server would. */
  enableSent(tag: string): void {
    if (this.rules.enabled?.length) this.enabling.add(tag);
  }

  push(chunk: Buffer): Buffer {
    this.pending = Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      if (this.literal > 0) {
        const take = Math.min(this.literal, this.pending.length);
        out.push(this.pending.subarray(0, take));
        this.pending = this.pending.subarray(take);
        this.literal -= take;
        if (this.literal > 0) break;
        continue;
      }
      const end = this.pending.indexOf('\r\n');
      if (end < 0) break;
      const line = this.pending.subarray(0, end).toString('latin1');
      this.pending = this.pending.subarray(end + 2);
      const literal = literalAt(line);
      if (literal) {
        this.literal = literal.size;
        out.push(Buffer.from(`${line}\r\n`, 'latin1'));
        continue;
      }
      if (/^\* ENABLED\b/i.test(line)) this.enabledSeen = true;
      const tag = line.slice(0, line.indexOf(' '));
      if (this.enabling.delete(tag)) {
        if (!this.enabledSeen) out.push(Buffer.from(`* ENABLED ${this.rules.enabled!.join(' ')}\r\n`, 'latin1'));
        this.enabledSeen = false;
      }
      const rewritten = rewriteLine(line, this.rules);
      if (rewritten !== undefined) out.push(Buffer.from(`${rewritten}\r\n`, 'latin1'));
      out.push(this.flush());
    }
    return Buffer.concat(out);
  }

  /** A line of our own: now, unless the agent is inside one of the server's lines (a literal under way). */
  inject(line: string): Buffer {
    this.queued.push(line);
    return this.literal === 0 ? this.flush() : Buffer.alloc(0);
  }

  private flush(): Buffer {
    const lines = this.queued.splice(0).map((l) => `${l}\r\n`);
    return Buffer.from(lines.join(''), 'latin1');
  }
}

/** Backwards-compatible stream transformer for server → agent bytes. */
export function serverStreamRewriter(rules: RewriteRules): (chunk: Buffer) => Buffer {
  const stream = new ServerStream(rules);
  return (chunk) => stream.push(chunk);
}

/**
 * Agent → server bytes: `push` returns what goes on to the server and the
 * tagged answers of the commands it refused. A refused command is dropped
 * whole: its LITERAL+ literals (which the client sends unasked) and the rest
 * of its line; after a synchronizing literal the client waits for a "+" that
 * never comes, and our tagged answer ends the command instead.
 */
export class ClientStream {
  private pending = Buffer.alloc(0);
  private literal = 0;
  /** Inside a command whose line continues after a literal. */
  private continuing = false;
  private dropping = false;

  /** `rules` is read at every command: a test may change them between syncs. */
  constructor(private readonly rules: RefusalRule[] | (() => RefusalRule[])) {}

  push(chunk: Buffer): { forward: Buffer; answers: string[]; refused: string[]; enables: string[]; close: boolean } {
    this.pending = Buffer.concat([this.pending, chunk]);
    const forward: Buffer[] = [];
    const answers: string[] = [];
    const refused: string[] = [];
    const enables: string[] = [];
    let close = false;
    for (;;) {
      if (this.literal > 0) {
        const take = Math.min(this.literal, this.pending.length);
        if (!this.dropping) forward.push(this.pending.subarray(0, take));
        this.pending = this.pending.subarray(take);
        this.literal -= take;
        if (this.literal > 0) break;
        continue;
      }
      const end = this.pending.indexOf('\r\n');
      if (end < 0) break;
      const raw = this.pending.subarray(0, end + 2);
      const line = raw.subarray(0, end).toString('latin1');
      this.pending = this.pending.subarray(end + 2);
      if (!this.continuing) {
        const m = /^(\S+) (.*)$/.exec(line);
        const rules = typeof this.rules === 'function' ? this.rules() : this.rules;
        const rule = m ? rules.find((r) => r.command.test(m[2]!)) : undefined;
        this.dropping = rule !== undefined;
        if (rule) {
          if (rule.answer === 'close') close = true;
          else answers.push(`${m![1]} ${rule.answer}`);
          refused.push(m![2]!);
        } else if (m && /^ENABLE /i.test(m[2]!)) enables.push(m[1]!);
      }
      if (!this.dropping) forward.push(raw);
      const literal = literalAt(line);
      this.continuing = literal !== undefined && !(this.dropping && literal.sync);
      this.literal = this.continuing ? literal!.size : 0;
    }
    return { forward: Buffer.concat(forward), answers, refused, enables, close };
  }
}

export class ImapRewriter {
  private readonly sockets = new Set<Socket>();
  /** Every command refused so far, its first line without the tag (tests show what was refused). */
  readonly refused: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    /** What the proxy does; a test may change it (new commands and connections follow it). */
    readonly rules: RewriteRules,
  ) {}

  static async start(target: { host: string; port: number }, rules: RewriteRules): Promise<ImapRewriter> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('rewriter: no port');
    const proxy = new ImapRewriter(server, address.port, rules);
    server.on('connection', (client) => {
      const upstream = createConnection(target.port, target.host);
      const fromServer = new ServerStream(rules);
      const fromClient = new ClientStream(() => proxy.rules.refuse ?? []);
      for (const s of [client, upstream]) proxy.sockets.add(s);
      const end = () => {
        client.destroy();
        upstream.destroy();
        proxy.sockets.delete(client);
        proxy.sockets.delete(upstream);
      };
      client.on('data', (d: Buffer) => {
        const { forward, answers, refused, enables, close } = fromClient.push(d);
        for (const tag of enables) fromServer.enableSent(tag);
        if (forward.length > 0) upstream.write(forward);
        proxy.refused.push(...refused);
        if (close) return end();
        for (const answer of answers) {
          const out = fromServer.inject(answer);
          if (out.length > 0) client.write(out);
        }
      });
      upstream.on('data', (d: Buffer) => {
        const out = fromServer.push(d);
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
