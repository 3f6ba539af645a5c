/** Each request op and the handler that answers it on the lane (docs/reach.md). */
import type { HeldPartParams, PartParams, RequestOp, RequestOps, StreamOp } from '@twinbox/protocol';
import { move, setFlags } from './actions.js';
import { listMailboxes } from './folders.js';
import { heldPart, type MappingLookup } from './held-part.js';
import type { LaneContext } from './lane.js';
import { message, part, type PartSink } from './message.js';
import { query } from './query.js';

type Handlers = { [K in Exclude<RequestOp, StreamOp>]: (params: RequestOps[K]['params']) => Promise<RequestOps[K]['result']> } & {
  part: (params: PartParams, sink: PartSink) => Promise<void>;
  heldPart: (params: HeldPartParams, sink: PartSink) => Promise<void>;
};

export function actionsOf(lane: LaneContext, signal: AbortSignal, store?: MappingLookup): Handlers {
  return {
    mailboxes: async () => ({ mailboxes: await listMailboxes(lane, true) }),
    query: (params) => query(lane, params, signal),
    message: (params) => message(lane, params),
    part: (params, sink) => part(lane, params, sink, signal),
    heldPart: (params, sink) => heldPart(lane, store, params, sink, signal),
    move: (params) => move(lane, params),
    flags: (params) => setFlags(lane, params),
  };
}
