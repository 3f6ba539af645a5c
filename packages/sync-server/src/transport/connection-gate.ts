/**
 * Who may hold a connection to the HTTPS port before logging in (issue 9.5).
 * Every TLS connection is "unauthenticated" from its handshake until a
 * WebSocket hello/watch or a phone API request proves a token; until then:
 *
 * - it must log in within `loginTimeoutMs` or it is closed;
 * - it may send at most `maxPreAuthBytes` (a hello is a few hundred bytes; a
 *   64 MiB frame from a stranger is never buffered and decoded);
 * - one source holds at most `maxPerSource` such connections, and the whole
 *   server `maxTotal`; connections beyond are closed at once.
 *
 * A logged-in connection leaves the gate and counts against nothing here.
 */
import type { Socket } from 'node:net';
import { sourceKey } from '../rate-limit.js';

export interface GateLimits {
  loginTimeoutMs: number;
  maxPreAuthBytes: number;
  maxPerSource: number;
  maxTotal: number;
}

interface Waiting {
  source: string;
  timer: NodeJS.Timeout;
  bytes: number;
  /** What to do when the deadline passes (a WebSocket says TIMEOUT first); default: close. */
  onExpire: () => void;
}

export class ConnectionGate {
  private readonly waiting = new Map<Socket, Waiting>();
  private readonly perSource = new Map<string, number>();
  /** Connections closed by the gate, by reason (for logs and tests). */
  readonly refused = { perSource: 0, total: 0, timeout: 0, preAuthBytes: 0 };

  constructor(private readonly limits: GateLimits) {}

  /** A new TLS connection. Returns false (and closes it) when a cap is reached. */
  admit(socket: Socket): boolean {
    const source = sourceKey(socket.remoteAddress ?? 'unknown');
    if (this.waiting.size >= this.limits.maxTotal) return this.refuse(socket, 'total');
    if ((this.perSource.get(source) ?? 0) >= this.limits.maxPerSource) return this.refuse(socket, 'perSource');
    const timer = setTimeout(() => {
      this.refused.timeout++;
      this.waiting.get(socket)?.onExpire();
    }, this.limits.loginTimeoutMs);
    timer.unref();
    this.waiting.set(socket, { source, timer, bytes: 0, onExpire: () => socket.destroy() });
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
    socket.once('close', () => this.release(socket));
    return true;
  }

  /** Is this connection still waiting to log in? */
  isWaiting(socket: Socket): boolean {
    return this.waiting.has(socket);
  }

  /** Replace what happens at the login deadline (while the connection waits). */
  onExpire(socket: Socket, expire: () => void): void {
    const entry = this.waiting.get(socket);
    if (entry) entry.onExpire = expire;
  }

  /** Bytes received from a waiting connection; past the cap it is closed. */
  received(socket: Socket, bytes: number): void {
    const entry = this.waiting.get(socket);
    if (!entry) return;
    entry.bytes += bytes;
    if (entry.bytes > this.limits.maxPreAuthBytes) {
      this.refused.preAuthBytes++;
      socket.destroy();
    }
  }

  /** The connection proved a token: it leaves the gate. */
  authenticated(socket: Socket): void {
    this.release(socket);
  }

  /** Connections waiting to log in now. */
  unauthenticated(): number {
    return this.waiting.size;
  }

  private refuse(socket: Socket, reason: 'perSource' | 'total'): false {
    this.refused[reason]++;
    socket.destroy();
    return false;
  }

  private release(socket: Socket): void {
    const entry = this.waiting.get(socket);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.waiting.delete(socket);
    const left = (this.perSource.get(entry.source) ?? 1) - 1;
    if (left <= 0) this.perSource.delete(entry.source);
    else this.perSource.set(entry.source, left);
  }
}
