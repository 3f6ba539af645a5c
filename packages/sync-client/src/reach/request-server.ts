/**
 * The agent's end of the request lane (docs/reach.md, protocol requests.ts):
 * requests arrive over the watch connection, between and during syncs; each
 * runs on the interactive lane (lane.ts), never behind a sync, and is
 * answered on the same connection: a `response` with the result (or an
 * error), and for a part its chunks, each sent only within the credit the
 * server granted.
 *
 * Bounded: at most REQUEST_LIMITS.maxOpen requests at once (more are answered
 * CANCELLED); each is stopped at its deadline or when the server cancels it.
 */
import { REQUEST_LIMITS, isStreamOp, type Logger, type ServerMessage, type RequestErrorCode } from '@twinbox/protocol';
import type { SyncConnection } from '../transport/connection.js';
import { actionsOf } from './handlers.js';
import type { PartSink } from './message.js';
import { RequestFailure, requestErrorOf } from './failure.js';
import type { ImapLane } from './lane.js';
import type { MappingLookup } from './held-part.js';

type LaneFrame = Extract<ServerMessage, { type: 'request' | 'credit' | 'cancel' }>;

/** Credit for one part: `take` waits until the server allows `bytes` more. */
class Credit {
  private available: number = REQUEST_LIMITS.initialCredit;
  private waiter: (() => void) | undefined;

  add(bytes: number): void {
    this.available += bytes;
    this.waiter?.();
  }

  async take(bytes: number, signal: AbortSignal): Promise<void> {
    while (this.available < bytes) {
      if (signal.aborted) throw new RequestFailure('CANCELLED', 'cancelled');
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiter = undefined;
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.waiter = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    this.available -= bytes;
  }
}

/** The longest a request holds the lane, however steadily its reader takes the bytes (a 20 MB part at 300 kbit/s). */
export const PART_MAX_MS = 10 * 60_000;

interface Open {
  abort: AbortController;
  credit: Credit;
  /** Restart the deadline: a part's reader took more (its credit came), so the request is not stuck. */
  progressed(): void;
}

export class RequestServer {
  private readonly open = new Map<number, Open>();

  constructor(
    private readonly lane: ImapLane,
    private readonly log: Logger,
    /** The agent's mappings, for the parts a preview left out (held-part.ts). */
    private readonly store?: MappingLookup,
  ) {}

  /** A frame of the lane from this connection. */
  handle(conn: SyncConnection, frame: LaneFrame): void {
    if (frame.type === 'credit') {
      const entry = this.open.get(frame.id);
      entry?.progressed();
      return entry?.credit.add(frame.bytes);
    }
    if (frame.type === 'cancel') return this.open.get(frame.id)?.abort.abort();
    if (this.open.has(frame.id)) return;
    if (this.open.size >= REQUEST_LIMITS.maxOpen) return this.refuse(conn, frame.id, 'CANCELLED', `more than ${REQUEST_LIMITS.maxOpen} requests at once`);
    const abort = new AbortController();
    // The deadline: for an answer, from the request; for a part, from the last credit — a phone that stops
    // reading frees the lane (and the watcher's connection) within one deadline, a slow one that reads does not,
    // up to PART_MAX_MS in all: a trickle of reads cannot keep desktop push and trigger e-mails waiting for ever.
    let deadline = setTimeout(() => abort.abort(), frame.timeoutMs);
    const outright = setTimeout(() => abort.abort(), PART_MAX_MS);
    const entry: Open = {
      abort,
      credit: new Credit(),
      progressed: () => {
        clearTimeout(deadline);
        deadline = setTimeout(() => abort.abort(), frame.timeoutMs);
      },
    };
    this.open.set(frame.id, entry);
    const started = Date.now();
    void this.answer(conn, frame, entry)
      .catch((err: unknown) => {
        const error = entry.abort.signal.aborted ? { code: 'CANCELLED' as const, message: 'cancelled or past its deadline' } : requestErrorOf(err);
        this.log.info('request failed', { op: frame.op, code: error.code, error: error.message });
        this.send(conn, () => conn.send({ type: 'response', id: frame.id, error }));
      })
      .finally(() => {
        clearTimeout(deadline);
        clearTimeout(outright);
        this.open.delete(frame.id);
        this.log.debug('request answered', { op: frame.op, ms: Date.now() - started });
      });
  }

  private async answer(conn: SyncConnection, frame: Extract<LaneFrame, { type: 'request' }>, entry: Open): Promise<void> {
    const signal = entry.abort.signal;
    const respond = (result: unknown) => conn.send({ type: 'response', id: frame.id }, Buffer.from(JSON.stringify(result)));
    // A request cancelled while it waited for the lane never touches the desktop.
    const unlessCancelled = () => {
      if (signal.aborted) throw new RequestFailure('CANCELLED', 'cancelled before it ran');
    };
    if (!isStreamOp(frame.op)) {
      const result: unknown = await this.lane.run((lane) => {
        unlessCancelled();
        return (actionsOf(lane, signal, this.store)[frame.op] as (params: unknown) => Promise<unknown>)(frame.params);
      });
      if (!signal.aborted) respond(result);
      return;
    }
    let seq = 0;
    await this.lane.run((lane) => {
      unlessCancelled();
      const stream = actionsOf(lane, signal, this.store)[frame.op] as (params: unknown, sink: PartSink) => Promise<void>;
      return stream(frame.params, {
        begin: (meta) => respond(meta),
        write: async (chunk) => {
          await entry.credit.take(chunk.length, signal);
          conn.send({ type: 'chunk', id: frame.id, seq: seq++, last: false }, chunk);
        },
        end: () => conn.send({ type: 'chunk', id: frame.id, seq: seq++, last: true }, Buffer.alloc(0)),
      });
    });
  }

  private refuse(conn: SyncConnection, id: number, code: RequestErrorCode, message: string): void {
    this.send(conn, () => conn.send({ type: 'response', id, error: { code, message } }));
  }

  /** An answer on a connection that is gone is dropped (the server failed the request already). */
  private send(conn: SyncConnection, send: () => void): void {
    if (conn.failed) return;
    try {
      send();
    } catch {
      // the connection failed in between
    }
  }

  /** The connection is gone: stop everything it asked. */
  dropped(): void {
    for (const entry of this.open.values()) entry.abort.abort();
  }
}
