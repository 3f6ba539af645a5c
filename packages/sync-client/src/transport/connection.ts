/**
 * The agent's end of one sync session: a WebSocket over TLS to the server's
 * /sync endpoint. The server is verified by the pin of its public key
 * (trust.ts, docs/trust.md) before any frame (and so the token) is sent. Incoming frames are decoded at this edge and queued in order; an
 * error frame or a close becomes a TwinboxError for whoever waits next.
 *
 * Test hook: TWINBOX_KILL_AFTER_FRAMES=N makes the agent kill itself with
 * SIGKILL right after its Nth frame (sent or received), so fault tests can
 * stop a sync at an exact point of the protocol. (Dropped connections are
 * made outside the process, by a loopback proxy.)
 */
import type { TLSSocket } from 'node:tls';
import { HttpsProxyAgent } from 'https-proxy-agent';
import WebSocket from 'ws';
import {
  LIMITS,
  TwinboxError,
  decodeServerFrame,
  encodeFrame,
  errorCodeOfClose,
  isErrorCode,
  type ClientMessage,
  type Frame,
  type ServerMessage,
} from '@twinbox/protocol';
import type { ServerSettings } from '../config.js';
import { proxyFor, proxyLabel } from './proxy.js';
import { checkServerCertificate } from './trust.js';

export interface ConnectionStats {
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
}

/**
 * How often the agent pings the server while connected (below the server's shortest sensible idle limit).
 * TWINBOX_HEARTBEAT_MS changes it for tests (test/integration/agent-heartbeat.test.ts), as
 * TWINBOX_KILL_AFTER_FRAMES does for the crash tests.
 */
export const HEARTBEAT_MS = Number(process.env.TWINBOX_HEARTBEAT_MS ?? 0) || 15_000;

export class SyncConnection {
  private readonly queue: Frame<ServerMessage>[] = [];
  private waiter: { resolve: (f: Frame<ServerMessage>) => void; reject: (e: TwinboxError) => void } | undefined;
  private failure: TwinboxError | undefined;
  readonly stats: ConnectionStats = { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0 };
  private readonly killAfter = Number(process.env.TWINBOX_KILL_AFTER_FRAMES ?? 0);
  /** When the server was last heard from (a frame or a heartbeat ping). */
  lastHeard = Date.now();
  /** Takes the server's sync requests (a watch connection), wherever they come between other frames. */
  onSyncRequest: ((reason: 'phoneChange' | 'syncNow') => void) | undefined;
  /** Takes the frames of the request lane (docs/reach.md), wherever they come between other frames. */
  onLaneFrame: ((frame: Extract<ServerMessage, { type: 'request' | 'credit' | 'cancel' }>) => void) | undefined;
  private readonly failureListeners = new Set<(error: TwinboxError) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('ping', () => (this.lastHeard = Date.now()));
    // The agent's heartbeat: a sync can work on the desktop for minutes without a frame (pairing a Trash of
    // tens of thousands of messages on a slow IMAP server), and the server ends a session whose agent neither
    // sends nor reads for connections.sessionIdleSeconds (120 s by default). A ping while the agent's event
    // loop runs says it is working; an agent that is stopped or hung sends none and is still ended.
    const heartbeat = setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.ping();
    }, HEARTBEAT_MS);
    heartbeat.unref();
    socket.once('close', () => clearInterval(heartbeat));
    socket.on('message', (data, isBinary) => {
      this.lastHeard = Date.now();
      const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.stats.framesReceived++;
      this.stats.bytesReceived += buffer.length;
      this.countFrame();
      if (!isBinary) return this.fail(new TwinboxError('BAD_FRAME', 'server sent a text frame'));
      const decoded = decodeServerFrame(buffer);
      if (!decoded.ok) return this.fail(decoded.error);
      const { message } = decoded.frame;
      if (message.type === 'error') {
        const code = isErrorCode(message.code) ? message.code : 'INTERNAL';
        return this.fail(new TwinboxError(code, `server: ${message.message}`));
      }
      this.push(decoded.frame);
    });
    socket.on('close', (code, reason) => {
      const known = errorCodeOfClose(code);
      const text = reason.toString() || 'connection closed';
      this.fail(new TwinboxError(known && code !== 1000 ? known : 'CONNECTION_LOST', `server closed the connection (${code} ${text})`));
    });
    socket.on('error', (err) => this.fail(new TwinboxError('CONNECTION_LOST', err.message, { cause: err })));
  }

  /** Open a connection (through the proxy, if one applies: proxy.ts) and check the server's key against the pins (trust.ts). */
  static open(server: ServerSettings, timeoutMs = 15_000): Promise<SyncConnection> {
    const { url } = server;
    const proxy = proxyFor(url, server.proxy);
    return new Promise((resolve, reject) => {
      // Verification is by the pinned key below, not by a CA: the server's certificate may be self-signed.
      const socket = new WebSocket(url, {
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
        maxPayload: LIMITS.maxFrameBytes,
        handshakeTimeout: timeoutMs,
        ...(proxy ? { agent: new HttpsProxyAgent(proxy) } : {}),
      });
      const via = proxy ? ` through the proxy ${proxyLabel(proxy)}` : '';
      let pinned = false;
      socket.once('upgrade', (response) => {
        const tls = response.socket as TLSSocket;
        try {
          checkServerCertificate(server, tls.getPeerX509Certificate());
        } catch (err) {
          socket.terminate();
          reject(err as TwinboxError);
          return;
        }
        pinned = true;
      });
      socket.once('open', () => {
        if (!pinned) return;
        resolve(new SyncConnection(socket));
      });
      socket.once('error', (err) => {
        // The server answers the upgrade itself (its login is in the protocol): a 401 or 407 on the way is the proxy's.
        if (proxy && /\b40[17]\b/.test(err.message)) {
          const status = /\b40[17]\b/.exec(err.message)![0];
          reject(new TwinboxError('CONFIG', `cannot reach ${url}${via}: the proxy refused the credentials (${status}): check the user and password in server.proxy or HTTPS_PROXY`, { cause: err }));
          return;
        }
        reject(new TwinboxError('CONNECTION_LOST', `cannot reach ${url}${via}: ${err.message}`, { cause: err }));
      });
    });
  }

  send(message: ClientMessage, body?: Buffer): void {
    if (this.failure) throw this.failure;
    const frame = encodeFrame(message, body);
    this.stats.framesSent++;
    this.stats.bytesSent += frame.length;
    this.socket.send(frame);
    this.countFrame();
  }

  /** The next frame from the server, in order. */
  next(timeoutMs: number = LIMITS.frameTimeoutMs): Promise<Frame<ServerMessage>> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new TwinboxError('TIMEOUT', `no answer from the server within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /**
   * The next frame and every one that arrives right behind it (until a turn
   * of the event loop brings no more): a burst the caller applies together —
   * one commit, one IMAP command for many changes.
   */
  async nextBurst(): Promise<Frame<ServerMessage>[]> {
    const burst = [await this.next()];
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const more = this.queue.splice(0);
      if (more.length === 0) return burst;
      burst.push(...more);
    }
  }

  /** The next frame, which must be of one of these types. */
  async expect<T extends ServerMessage['type']>(...types: T[]): Promise<Frame<Extract<ServerMessage, { type: T }>>> {
    const frame = await this.next();
    if (!(types as string[]).includes(frame.message.type)) {
      throw new TwinboxError('OUT_OF_ORDER', `expected ${types.join(' or ')} from the server, got ${frame.message.type}`);
    }
    return frame as Frame<Extract<ServerMessage, { type: T }>>;
  }

  close(): void {
    this.socket.close(1000, 'done');
  }

  /** Has the connection failed or closed? */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Resolves after `ms`, or rejects as soon as the connection fails. */
  watchFor(ms: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const onFailure = (error: TwinboxError) => {
        clearTimeout(timer);
        reject(error);
      };
      const timer = setTimeout(() => {
        this.failureListeners.delete(onFailure);
        resolve();
      }, ms);
      this.failureListeners.add(onFailure);
    });
  }

  private push(frame: Frame<ServerMessage>): void {
    if (frame.message.type === 'syncRequest' && this.onSyncRequest) return this.onSyncRequest(frame.message.reason);
    const m = frame.message;
    if ((m.type === 'request' || m.type === 'credit' || m.type === 'cancel') && this.onLaneFrame) return this.onLaneFrame(m);
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve(frame);
    } else this.queue.push(frame);
  }

  private fail(error: TwinboxError): void {
    if (this.failure) return;
    this.failure = error;
    for (const listener of this.failureListeners) listener(error);
    this.failureListeners.clear();
    if (this.waiter) {
      const { reject } = this.waiter;
      this.waiter = undefined;
      reject(error);
    }
  }

  private countFrame(): void {
    const frames = this.stats.framesSent + this.stats.framesReceived;
    if (this.killAfter > 0 && frames >= this.killAfter) process.kill(process.pid, 'SIGKILL');
  }
}
