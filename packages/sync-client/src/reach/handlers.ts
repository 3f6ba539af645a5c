/** Each request op and the handler that answers it on the lane (docs/reach.md). */
import type { PartParams, RequestOp, RequestOps } from '@twinbox/protocol';
import { move, setFlags } from './actions.js';
import { listMailboxes } from './folders.js';
import type { LaneContext } from './lane.js';
import { message, part, type PartSink } from './message.js';
import { query } from './query.js';

type Handlers = { [K in Exclude<RequestOp, 'part'>]: (params: RequestOps[K]['params']) => Promise<RequestOps[K]['result']> } & {
  part: (params: PartParams, sink: PartSink) => Promise<void>;
};

export function actionsOf(lane: LaneContext, signal: AbortSignal): Handlers {
  return {
    mailboxes: async () => ({ mailboxes: await listMailboxes(lane, true) }),
    query: (params) => query(lane, params, signal),
    message: (params) => message(lane, params),
    part: (params, sink) => part(lane, params, sink, signal),
    move: (params) => move(lane, params),
    flags: (params) => setFlags(lane, params),
  };
}
