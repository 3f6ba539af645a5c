/**
 * The server's end of the request lane on one watch connection (docs/reach.md,
 * protocol requests.ts): it asks the connected agent, matches answers to
 * questions by correlation id, and gives the phone API a result, a part as a
 * stream, or a PhoneError.
 *
 * - Deadline: a request unanswered within its timeout is cancelled at the
 *   agent and fails TIMEOUT (504); a part whose bytes stop coming while the
 *   agent holds credit fails the same way.
 * - Bounded: at most REQUEST_LIMITS.maxOpen open at once (more: DESKTOP_BUSY).
 * - Cancellation: the caller's AbortSignal (the phone's request went away)
 *   sends `cancel`, and the agent stops.
 * - A part streams within credit: the agent may send initialCredit bytes
 *   ahead; each chunk the phone's response has taken (the stream's consumer
 *   read it) is granted again, so neither side holds a 20 MB part whole.
 * - The connection drops: every open request fails DESKTOP_OFFLINE.
 */
import { Readable } from 'node:stream';
import {
  HELD_PART_VERSION,
  REQUEST_LIMITS,
  isStreamOp,
  type HeldPartParams,
  parseRequestResult,
  type AnyRequest,
  type PartParams,
  type PartResult,
  type RequestError,
  type RequestOp,
  type RequestOps,
  type ServerMessage,
} from '@twinbox/protocol';
import { PhoneError } from '../phone/errors.js';

export interface AskOptions {
  timeoutMs: number;
  /** Aborted when the phone no longer wants the answer. */
  signal?: AbortSignal | undefined;
}

/** The agent's error codes as the phone sees them (docs/reach.md "Errors"). */
export function phoneErrorOf(error: RequestError): PhoneError {
  switch (error.code) {
    case 'NOT_FOUND':
      return new PhoneError('NOT_FOUND', `not on the desktop any more: ${error.message}`);
    case 'BAD_REQUEST':
      return new PhoneError('BAD_REQUEST', error.message);
    case 'IMAP':
    case 'UNAVAILABLE':
      return new PhoneError('DESKTOP_REFUSED', `the desktop: ${error.message}`);
    case 'CANCELLED':
      return new PhoneError('DESKTOP_BUSY', `the desktop agent stopped the request: ${error.message}`);
  }
}

/** A part's bytes as they arrive; reading them is what grants the agent more credit. */
class PartBody extends Readable {
  /** Credit held back while the reader is behind. */
  private withheld = 0;

  constructor(private readonly grant: (bytes: number) => void) {
    super({ highWaterMark: REQUEST_LIMITS.chunkBytes });
  }

  override _read(): void {
    if (this.withheld === 0) return;
    const bytes = this.withheld;
    this.withheld = 0;
    this.grant(bytes);
  }

  deliver(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.push(chunk)) this.grant(chunk.length);
    else this.withheld += chunk.length;
  }
}

interface Pending {
  op: RequestOp;
  timeoutMs: number;
  timer: NodeJS.Timeout | undefined;
  resolve(result: unknown): void;
  reject(error: PhoneError): void;
  /** A part: its body, the next chunk's seq, and the bytes the agent may still send. */
  part?: { body: PartBody; seq: number; credit: number; answered: boolean };
  unlisten(): void;
}

export class AgentRequests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedWith: PhoneError | undefined;

  constructor(
    private readonly send: (message: ServerMessage) => void,
    /** The lane version the agent named in its watch (protocol requests.ts REQUESTS_VERSION). */
    readonly version: number = HELD_PART_VERSION,
  ) {}

  /** Requests open now. */
  get open(): number {
    return this.pending.size;
  }

  /** Ask the agent; the result, checked (request-validate.ts), or a PhoneError. */
  ask<K extends Exclude<RequestOp, 'part' | 'heldPart'>>(op: K, params: RequestOps[K]['params'], options: AskOptions): Promise<RequestOps[K]['result']> {
    return new Promise((resolve, reject) => this.start({ op, params } as AnyRequest, options, resolve as (r: unknown) => void, reject));
  }

  /** Ask for a part: its description, then its bytes as a stream (read it, or destroy it to cancel). */
  openPart(params: PartParams, options: AskOptions): Promise<{ meta: PartResult; body: Readable }> {
    return new Promise((resolve, reject) => this.start({ op: 'part', params }, options, resolve as (r: unknown) => void, reject));
  }

  /**
   * A part a window message's preview left out (protocol preview.ts), found by the agent through its
   * mapping of the phone message; as openPart. An agent before lane version 2 cannot: DESKTOP_OUTDATED.
   */
  openHeldPart(params: HeldPartParams, options: AskOptions): Promise<{ meta: PartResult; body: Readable }> {
    if (this.version < HELD_PART_VERSION) return Promise.reject(new PhoneError('DESKTOP_OUTDATED', 'the desktop agent is too old to fetch the rest of a preview: update it'));
    return new Promise((resolve, reject) => this.start({ op: 'heldPart', params }, options, resolve as (r: unknown) => void, reject));
  }

  private start(request: AnyRequest, options: AskOptions, resolve: (r: unknown) => void, reject: (e: PhoneError) => void): void {
    if (this.closedWith) return reject(this.closedWith);
    if (this.pending.size >= REQUEST_LIMITS.maxOpen) return reject(new PhoneError('DESKTOP_BUSY'));
    if (options.signal?.aborted) return reject(new PhoneError('TIMEOUT', 'the request was cancelled before it was sent'));
    const id = this.nextId++;
    const timeoutMs = Math.min(options.timeoutMs, REQUEST_LIMITS.maxTimeoutMs);
    const onAbort = () => this.cancel(id, new PhoneError('TIMEOUT', 'the phone went away'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const entry: Pending = {
      op: request.op,
      timeoutMs,
      timer: undefined,
      resolve,
      reject,
      unlisten: () => options.signal?.removeEventListener('abort', onAbort),
    };
    if (isStreamOp(request.op)) {
      const body = new PartBody((bytes) => this.grant(id, bytes));
      body.once('close', () => {
        // The reader destroyed the stream before its end: the agent stops sending.
        if (this.pending.get(id)?.part?.body === body) this.cancel(id, new PhoneError('TIMEOUT', 'the download was stopped'));
      });
      entry.part = { body, seq: 0, credit: REQUEST_LIMITS.initialCredit, answered: false };
    }
    this.pending.set(id, entry);
    this.arm(id);
    this.send({ type: 'request', id, timeoutMs, ...request });
  }

  /** (Re)start a request's deadline: for the answer, then while the agent holds credit for a part's bytes. */
  private arm(id: number): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    // A part the phone is slow to read: no credit out, nothing the agent owes, no deadline.
    if (entry.part?.answered && entry.part.credit <= 0) return;
    entry.timer = setTimeout(() => this.cancel(id, new PhoneError('TIMEOUT', `the desktop agent did not answer within ${entry.timeoutMs / 1000} s`)), entry.timeoutMs);
    entry.timer.unref();
  }

  private grant(id: number, bytes: number): void {
    const entry = this.pending.get(id);
    if (!entry?.part) return;
    entry.part.credit += bytes;
    this.arm(id);
    this.send({ type: 'credit', id, bytes });
  }

  /** Stop a request: the agent hears `cancel`, the caller the error. */
  private cancel(id: number, error: PhoneError): void {
    if (!this.pending.has(id)) return;
    this.finish(id, error);
    if (!this.closedWith) this.send({ type: 'cancel', id });
  }

  private finish(id: number, error?: PhoneError): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.unlisten();
    if (!error) return;
    if (entry.part?.answered) entry.part.body.destroy(error);
    else entry.reject(error);
  }

  /** A `response` frame from the agent. */
  response(id: number, error: RequestError | undefined, body: Buffer | undefined): void {
    const entry = this.pending.get(id);
    if (!entry) return; // cancelled meanwhile: its answer is dropped
    // A part under way that the agent stops (it was not read for a deadline, its IMAP connection broke): the download ends.
    if (entry.part?.answered) return this.cancel(id, new PhoneError('TIMEOUT', `the desktop agent stopped sending the part: ${error?.message ?? 'a second answer'}`));
    if (error) return this.finish(id, phoneErrorOf(error));
    const parsed = parseRequestResult(entry.op, body ?? Buffer.alloc(0));
    if (!parsed.ok) return this.cancel(id, new PhoneError('DESKTOP_REFUSED', `the desktop agent's answer is malformed: ${parsed.error}`));
    if (!entry.part) {
      this.finish(id);
      return entry.resolve(parsed.result);
    }
    entry.part.answered = true;
    this.arm(id);
    entry.resolve({ meta: parsed.result, body: entry.part.body });
  }

  /** A `chunk` frame: the next bytes of a part, in order and within credit. */
  chunk(id: number, seq: number, last: boolean, bytes: Buffer): void {
    const entry = this.pending.get(id);
    const part = entry?.part;
    if (!entry || !part) return;
    if (!part.answered || seq !== part.seq || bytes.length > REQUEST_LIMITS.chunkBytes || bytes.length > part.credit) {
      return this.cancel(id, new PhoneError('DESKTOP_REFUSED', 'the desktop agent sent a part out of order or beyond its credit'));
    }
    part.seq++;
    part.credit -= bytes.length;
    part.body.deliver(bytes);
    if (last) {
      this.finish(id);
      part.body.push(null);
    } else this.arm(id);
  }

  /** The connection is gone: nothing open will be answered. */
  closed(): void {
    this.closedWith = new PhoneError('DESKTOP_OFFLINE', 'the desktop agent disconnected before it answered');
    for (const id of [...this.pending.keys()]) this.finish(id, this.closedWith);
  }
}
