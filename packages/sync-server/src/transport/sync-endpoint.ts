/**
 * The sync endpoint: WebSocket (`ws`) on the server's HTTPS port at /sync.
 * One connection is one session. Frames are decoded once here, at the edge;
 * a frame that does not decode ends the session with its error code. Pings
 * every heartbeat interval; a peer that misses them is dropped.
 *
 * Test hook: TWINBOX_KILL_AFTER_FRAMES=N makes the server kill itself with
 * SIGKILL right after the Nth sync frame it sent or received since it started,
 * so fault tests can stop it at an exact point of the protocol.
 */
import type { Server as HttpsServer } from 'node:https';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { LIMITS, TwinboxError, closeCodeOf, decodeClientFrame, encodeFrame } from '@twinbox/protocol';
import type { Logger } from '../log.js';
import { FailureLimiter } from '../rate-limit.js';
import type { ServerStore } from '../store/index.js';
import { AccountLocks, ServerSession, type Peer } from '../sync/session.js';

export const SYNC_PATH = '/sync';

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export interface SyncEndpoint {
  /** Number of sessions open now. */
  sessions(): number;
  /** Is an authenticated agent of this account connected now? */
  connected(accountId: string): boolean;
  /** Ask the account's watching agents for a sync (live push); returns how many were asked. */
  requestSync(accountId: string, reason: 'phoneChange' | 'syncNow'): number;
  close(): Promise<void>;
}

export function attachSyncEndpoint(server: HttpsServer, store: ServerStore, log: Logger, limiter = new FailureLimiter()): SyncEndpoint {
  const locks = new AccountLocks();
  // ws closes a connection whose frame exceeds maxPayload with close code 1009 (FRAME_TOO_LARGE).
  const wss = new WebSocketServer({ server, path: SYNC_PATH, maxPayload: LIMITS.maxFrameBytes });
  const alive = new WeakMap<WebSocket, boolean>();
  const sessions = new Set<ServerSession>();
  const peers = new Map<ServerSession, Peer>();
  const requestSync = (accountId: string, reason: 'phoneChange' | 'syncNow'): number => {
    let asked = 0;
    for (const [session, peer] of peers) {
      if (session.watching && session.accountId === accountId) {
        peer.send({ type: 'syncRequest', reason });
        asked++;
      }
    }
    return asked;
  };
  // A burst of phone changes (a delivery, a few taps) becomes one request.
  const pending = new Map<string, NodeJS.Timeout>();
  const onPhoneChange = (accountId: string) => {
    if (pending.has(accountId)) return;
    pending.set(
      accountId,
      setTimeout(() => {
        pending.delete(accountId);
        requestSync(accountId, 'phoneChange');
      }, 100),
    );
  };
  store.actions.events.on('appended', onPhoneChange);
  const killAfter = Number(process.env.TWINBOX_KILL_AFTER_FRAMES ?? 0);
  let frames = 0;
  const countFrame = () => {
    if (killAfter > 0 && ++frames >= killAfter) process.kill(process.pid, 'SIGKILL');
  };

  wss.on('connection', (socket, request) => {
    const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    alive.set(socket, true);
    socket.on('pong', () => alive.set(socket, true));
    const peer: Peer = {
      send: (message, body) => {
        socket.send(encodeFrame(message, body));
        countFrame();
      },
      fail: (error) => {
        socket.send(encodeFrame({ type: 'error', code: error.code, message: error.message }));
        socket.close(closeCodeOf(error.code), error.code);
      },
    };
    const session = new ServerSession(store, locks, peer, log, { limiter, remote: request.socket.remoteAddress ?? 'unknown' });
    sessions.add(session);
    peers.set(session, peer);
    socket.on('message', (data, isBinary) => {
      countFrame();
      if (!isBinary) return session.fail(new TwinboxError('BAD_FRAME', 'text frames are not part of the protocol'));
      const decoded = decodeClientFrame(toBuffer(data));
      if (!decoded.ok) return session.fail(decoded.error);
      session.handle(decoded.frame);
    });
    socket.on('error', (err) => log.warn('connection error', { remote, error: err.message }));
    socket.on('close', () => {
      session.closed();
      sessions.delete(session);
      peers.delete(session);
    });
  });

  const heartbeat = setInterval(() => {
    for (const socket of wss.clients) {
      if (alive.get(socket) === false) {
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
  }, LIMITS.heartbeatIntervalMs);
  heartbeat.unref();

  return {
    sessions: () => wss.clients.size,
    connected: (accountId) => [...sessions].some((s) => s.accountId === accountId),
    requestSync,
    close: () =>
      new Promise((resolve) => {
        clearInterval(heartbeat);
        store.actions.events.off('appended', onPhoneChange);
        for (const timer of pending.values()) clearTimeout(timer);
        for (const socket of wss.clients) socket.terminate();
        wss.close(() => resolve());
      }),
  };
}
