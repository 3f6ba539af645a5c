/**
 * The sync endpoint: WebSocket (`ws`) on the server's HTTPS port at /sync.
 * One connection is one session. Frames are decoded once here, at the edge;
 * a frame that does not decode ends the session with its error code. Pings
 * every heartbeat interval; a peer that misses them is dropped.
 *
 * Strangers (issue 9.5): until its hello or watch is accepted a connection is
 * held by the connection gate (login deadline, bytes before login, count per
 * source). A sync session whose peer neither sends a frame, reads ours nor
 * pings for `sessionIdleMs` ends with TIMEOUT and releases the account's lock.
 * Frames for a peer that does not read are not produced past
 * `sendBufferBytes` queued (the session waits for the socket to drain):
 * memory per peer stays bounded.
 *
 * Test hook: TWINBOX_KILL_AFTER_FRAMES=N makes the server kill itself with
 * SIGKILL right after the Nth sync frame it sent or received since it started,
 * so fault tests can stop it at an exact point of the protocol.
 */
import type { Server as HttpsServer } from 'node:https';
import { hostname } from 'node:os';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { LIMITS, TwinboxError, closeCodeOf, decodeClientFrame, encodeFrame, type ClientMessage, type Frame, type ServerMessage } from '@twinbox/protocol';
import type { Logger } from '../log.js';
import type { SessionObserver } from '../metrics.js';
import { FailureLimiter, type LoginLimiter } from '../rate-limit.js';
import type { ServerStore } from '../store/index.js';
import type { ConnectionGate } from './connection-gate.js';
import { AccountLocks } from '../sync/account-locks.js';
import { LANE_FRAMES, ServerSession, type Peer } from '../sync/session.js';
import type { AgentRequests } from '../reach/agent-requests.js';

export const SYNC_PATH = '/sync';
/** How long a failed session's peer has to take the error frame and the close before the socket is cut. */
const CLOSE_GRACE_MS = 2000;
/**
 * Frames received and not yet applied, beyond which the socket is not read until they are: more than an
 * agent keeps in flight (LIMITS.maxInFlight actions, then it waits for acks), so only a peer that does not
 * follow the protocol is held back.
 */
const MAX_WAITING_FRAMES = 2 * LIMITS.maxInFlight + 64;
/** And the bytes of their messages: what an agent keeps in flight (LIMITS.maxInFlightBytes), twice. */
const MAX_WAITING_BYTES = 2 * LIMITS.maxInFlightBytes;

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
  /** Accounts with an agent connected now. */
  agentsConnected(): number;
  /** The request lane to the account's agent (docs/reach.md): undefined when none is connected, `outdated` for an agent without one. */
  agentRequests(accountId: string): AgentRequests | 'outdated' | undefined;
  /** Ask the account's watching agents for a sync (live push); returns how many were asked. */
  requestSync(accountId: string, reason: 'phoneChange' | 'syncNow'): number;
  close(): Promise<void>;
}

export interface SyncEndpointOptions {
  gate: ConnectionGate;
  sessionIdleMs: number;
  sendBufferBytes: number;
  limiter?: LoginLimiter;
  /** Hears how syncs end (the server's metrics). */
  observer?: SessionObserver;
  /** Window messages above this many bytes go to the phone as previews (reach.previewAboveBytes; 0 or absent: off). */
  previewAboveBytes?: number;
  /**
   * This node's name among the nodes on the database (docs/scaling.md): unique per node and the same after
   * a restart, so that a restarted node takes its accounts back at once. Default: the host's name.
   */
  node?: string;
  /** How long an account's sync lease lasts unrenewed: how long a killed node keeps its accounts (default 30 s). */
  leaseMs?: number;
}

const DEFAULT_LEASE_MS = 30_000;

export function attachSyncEndpoint(server: HttpsServer, store: ServerStore, log: Logger, options: SyncEndpointOptions): SyncEndpoint {
  const { gate, sessionIdleMs, sendBufferBytes } = options;
  const limiter = options.limiter ?? new FailureLimiter();
  const sessions = new Set<ServerSession>();
  // One sync per account: in this process, and across nodes by leases in the database where there can be
  // several nodes (PostgreSQL). One SQLite file is served by one server: its locks are this process's.
  const locks = new AccountLocks(
    store.engine.dialect === 'postgres'
      ? {
          store: store.leases,
          node: options.node ?? hostname(),
          ttlMs: options.leaseMs ?? DEFAULT_LEASE_MS,
          log,
          // Another node may run this account's sync now (this one could not renew its lease in time): stop ours.
          onLost: (holder) => {
            for (const session of sessions) if (session.holds(holder)) session.fail(new TwinboxError('BUSY', 'another server node took over this sync; sync again'));
          },
        }
      : undefined,
  );
  // ws closes a connection whose frame exceeds maxPayload with close code 1009 (FRAME_TOO_LARGE).
  const wss = new WebSocketServer({ server, path: SYNC_PATH, maxPayload: LIMITS.maxFrameBytes });
  // ws re-emits the HTTPS server's errors (a port in use); startServer reports those, so they must not crash here.
  wss.on('error', (err) => log.debug('sync endpoint: server error', { error: err.message }));
  const alive = new WeakMap<WebSocket, boolean>();
  const requestSync = (accountId: string, reason: 'phoneChange' | 'syncNow'): number => {
    let asked = 0;
    for (const session of sessions) if (session.requestSync(accountId, reason)) asked++;
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
    const tcp = request.socket;
    const remote = `${tcp.remoteAddress}:${tcp.remotePort}`;
    alive.set(socket, true);
    socket.on('pong', () => alive.set(socket, true));
    // A sync session is alive while its peer sends frames, reads ours (a large fetch keeps it busy reading) or
    // pings: the agent pings every 15 s while it works on the desktop side between frames (transport/connection.ts).
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(idle);
      if (session.accountId === undefined || session.watching) return;
      idle = setTimeout(() => session.fail(new TwinboxError('TIMEOUT', `the agent neither sent, read nor pinged for ${sessionIdleMs / 1000} s`)), sessionIdleMs);
      idle.unref();
    };
    socket.on('ping', () => touch());
    const drainWaiters: (() => void)[] = [];
    const afterWrite = () => {
      touch();
      if (socket.bufferedAmount >= sendBufferBytes / 2) return;
      for (const waiter of drainWaiters.splice(0)) waiter();
    };
    const writeFrame = (frame: Buffer) => {
      socket.send(frame, afterWrite);
      countFrame();
    };
    const write = (message: ServerMessage, body?: Buffer) => writeFrame(encodeFrame(message, body));
    const failNow = (error: TwinboxError) => {
      socket.send(encodeFrame({ type: 'error', code: error.code, message: error.message }));
      socket.close(closeCodeOf(error.code), error.code);
      // A peer that does not read does not answer the close either: cut it after a short grace.
      setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
    };
    // While a batch of frames is being applied (group commit, below), what the session sends is held until it commits.
    // Held frames count toward backpressure like queued ones, and a wait for drain starts once they are written.
    let held: Buffer[] | undefined;
    let heldBytes = 0;
    let heldFailure: TwinboxError | undefined;
    const peer: Peer = {
      send: (message, body) => {
        if (!held) return write(message, body);
        const frame = encodeFrame(message, body);
        held.push(frame);
        heldBytes += frame.length;
      },
      fail: (error) => (held ? (heldFailure ??= error) : failNow(error)),
      congested: () => socket.bufferedAmount + heldBytes >= sendBufferBytes,
      // The session's work after a drain runs in turn with its frames (`work`, below), never beside them.
      whenDrained: (resume) => {
        drainWaiters.push(() => schedule(resume));
        if (!held) afterWrite();
      },
    };
    const session = new ServerSession(store, locks, peer, log, { limiter, remote: tcp.remoteAddress ?? 'unknown' }, options.observer, options.previewAboveBytes ?? 0);
    sessions.add(session);

    // Before login: every byte counts against the gate's cap, and the deadline answers TIMEOUT.
    // Once ws has refused the connection itself (a frame above maxPayload: close 1009), its close frame must
    // reach the peer: the gate's cut would race it. The gate's deadline still ends a peer that does not go.
    const countPreAuth = (chunk: Buffer) => {
      if (socket.readyState === socket.OPEN) gate.received(tcp, chunk.length);
    };
    if (gate.isWaiting(tcp)) {
      tcp.on('data', countPreAuth);
      gate.onExpire(tcp, () => session.fail(new TwinboxError('TIMEOUT', 'no hello in time')));
    }
    // The session's work runs one piece at a time, in order: a batch of frames, or what waited for a drain.
    // Group commit: each piece runs in one transaction (each frame's own transaction nests as a savepoint),
    // and the answers go out once it has committed — an acknowledgement is never sent before its effect is
    // durable (docs/spec.md §10), and a burst of 1,000 actions costs one commit, not 1,000 (issue 11).
    let work: Promise<void> = Promise.resolve();
    const schedule = (piece: () => Promise<void>, claimed?: string) => {
      work = work.then(() => runPiece(piece, claimed));
    };
    const incoming: (Frame<ClientMessage> | TwinboxError)[] = [];
    let batchScheduled = false;
    let incomingBytes = 0;
    const applyIncoming = async () => {
      batchScheduled = false;
      const batch = incoming.splice(0);
      incomingBytes = 0;
      if (socket.isPaused) socket.resume();
      // The lease is checked in the batch's transaction, but its answer is awaited only before the commit: the
      // check travels with the batch's first statement (pipelined, store/postgres-engine.ts), not a round trip
      // ahead of it. Lost, the whole batch rolls back and the session ends (BUSY) — nothing of it is acknowledged.
      const fenced = session.fence();
      fenced.catch(() => undefined);
      for (const item of batch) {
        if (item instanceof TwinboxError) session.fail(item);
        else await session.handle(item);
      }
      await fenced;
    };
    const runPiece = async (piece: () => Promise<void>, claimed?: string) => {
      held = [];
      const scope = session.accountId ?? claimed;
      try {
        // Never run twice (it changes the session and queues its answers); the account's other work waits its turn.
        await store.transaction(piece, { retry: false, ...(scope !== undefined ? { scope } : {}) });
      } catch (err) {
        // Nothing of the piece happened (it rolled back, or its commit failed), so nothing of it may be acknowledged.
        if (err instanceof TwinboxError) heldFailure ??= err;
        else log.error('applying frames failed', { remote, error: String(err) });
        held = [];
        heldFailure ??= new TwinboxError('INTERNAL', 'internal error');
      }
      const out = held;
      held = undefined;
      heldBytes = 0;
      // Written as one: 1,000 phone changes the swap answers with leave in one write, not as a first frame
      // alone and the rest after it (the agent applies what arrives together as one UID STORE per flag).
      tcp.cork();
      for (const frame of out) writeFrame(frame);
      tcp.uncork();
      // A wait for drain that began in the batch: the frames are queued now, so the socket can tell.
      if (drainWaiters.length > 0) afterWrite();
      if (heldFailure) {
        const failure = heldFailure;
        heldFailure = undefined;
        failNow(failure);
        session.closed();
      }
      if (session.accountId !== undefined && gate.isWaiting(tcp)) {
        gate.authenticated(tcp);
        tcp.off('data', countPreAuth);
        store.events.emit('agentLink', session.accountId);
      }
      touch();
    };
    socket.on('message', (data, isBinary) => {
      countFrame();
      const decoded = isBinary ? decodeClientFrame(toBuffer(data)) : ({ ok: false, error: new TwinboxError('BAD_FRAME', 'text frames are not part of the protocol') } as const);
      // The request lane's answers go to the phone's request at once, outside the sync's work and its transactions.
      if (decoded.ok && LANE_FRAMES.has(decoded.frame.message.type)) return void session.handle(decoded.frame);
      incoming.push(decoded.ok ? decoded.frame : decoded.error);
      incomingBytes += decoded.ok ? (decoded.frame.body?.length ?? 0) : 0;
      // A peer that sends faster than its frames are applied is not read until they are (its frames wait in the socket).
      if (incoming.length >= MAX_WAITING_FRAMES || incomingBytes >= MAX_WAITING_BYTES) socket.pause();
      if (!batchScheduled) {
        batchScheduled = true;
        // Before login, the account the first frame names: its transactions take turns with this one's (engine.ts `scope`).
        const first = incoming[0];
        const claimed = first instanceof TwinboxError || !first || !('accountId' in first.message) ? undefined : String(first.message.accountId);
        setImmediate(() => schedule(applyIncoming, claimed));
      }
    });
    socket.on('error', (err) => log.warn('connection error', { remote, error: err.message }));
    socket.on('close', () => {
      clearTimeout(idle);
      drainWaiters.length = 0;
      // Taken before closed(): a closed session names no account, and the agent's leaving must still be heard.
      const accountId = session.accountId;
      session.closed();
      sessions.delete(session);
      if (accountId !== undefined) store.events.emit('agentLink', accountId);
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
    agentsConnected: () => new Set([...sessions].map((s) => s.accountId).filter((id) => id !== undefined)).size,
    requestSync,
    agentRequests: (accountId) => {
      let found: AgentRequests | 'outdated' | undefined;
      // The newest watch connection wins (an agent that reconnected before the old socket timed out).
      for (const session of sessions) found = session.requestsFor(accountId) ?? found;
      return found;
    },
    close: () =>
      new Promise((resolve) => {
        clearInterval(heartbeat);
        store.actions.events.off('appended', onPhoneChange);
        for (const timer of pending.values()) clearTimeout(timer);
        for (const socket of wss.clients) socket.terminate();
        wss.close(() => void locks.releaseAll().then(resolve));
      }),
  };
}
