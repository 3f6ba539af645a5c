/**
 * Sends the agent's pending actions (patent FIG. 9, blocks 904–922) with up
 * to LIMITS.maxInFlight on the wire at once, not one round trip each. Each
 * acknowledgement is applied and its action deleted in one transaction
 * (SPEC §10): an insert's phone ID is mapped; an unmap drops the mapping.
 *
 * An insert whose desktop message vanished before it could be read is
 * dropped unsent: the next detection reports what happened to it.
 */
import { LIMITS, TwinboxError, type ActionResult } from '@twinbox/protocol';
import type { PendingAction } from '../store/agent-store.js';
import type { SyncContext } from './context.js';

function applyAck(ctx: SyncContext, pending: PendingAction, result: ActionResult, phoneId: number | undefined): void {
  const { store } = ctx;
  const { action } = pending;
  store.transaction(() => {
    store.deleteAction(pending.seq);
    if (action.kind === 'insert') {
      const entry = pending.uid !== null ? store.inboxEntry(pending.uid) : undefined;
      if (result === 'ok' && phoneId && entry && pending.uid !== null) {
        store.putMapping({ phoneId, folder: 'inbox', uid: pending.uid, fingerprint: entry.fingerprint, seen: action.seen, flagged: action.flagged });
      }
      return;
    }
    if (action.kind === 'unmap') store.deleteMapping(action.phoneId);
    else if (result === 'gone') ctx.gone.add(action.phoneId);
  });
}

/** Send every pending action and wait for all acknowledgements. */
export async function pushActions(ctx: SyncContext): Promise<number> {
  const { store, imap, conn } = ctx;
  const queue = store.pendingActions();
  const inFlight = new Map<number, PendingAction>();
  let sent = 0;
  // Bodies of the next inserts, fetched in one FETCH per batch (not one round trip each), at most
  // LIMITS.maxInFlight at a time so memory stays bounded.
  let bodies = new Map<number, Buffer>();

  const bodyOf = async (uid: number): Promise<Buffer | undefined> => {
    if (!bodies.has(uid)) {
      const batch = [uid, ...queue.filter((p) => p.action.kind === 'insert' && p.uid !== null).map((p) => p.uid!)].slice(0, LIMITS.maxInFlight);
      bodies = await imap.sources('inbox', batch);
    }
    const body = bodies.get(uid);
    bodies.delete(uid);
    return body;
  };

  const sendNext = async (): Promise<boolean> => {
    const next = queue.shift();
    if (!next) return false;
    let body: Buffer | undefined;
    if (next.action.kind === 'insert') {
      body = next.uid !== null ? await bodyOf(next.uid) : undefined;
      if (!body) {
        store.transaction(() => store.deleteAction(next.seq));
        return true;
      }
    }
    inFlight.set(next.seq, next);
    conn.send({ type: 'action', seq: next.seq, action: next.action }, body);
    sent++;
    return true;
  };

  while (queue.length > 0 || inFlight.size > 0) {
    while (inFlight.size < LIMITS.maxInFlight && queue.length > 0) await sendNext();
    if (inFlight.size === 0) continue;
    const { message } = await conn.expect('ack');
    const pending = inFlight.get(message.seq);
    if (!pending) throw new TwinboxError('OUT_OF_ORDER', `ack for action ${message.seq}, which was not sent`);
    inFlight.delete(message.seq);
    applyAck(ctx, pending, message.result, message.phoneId);
  }
  ctx.counters.agentActions += sent;
  return sent;
}
