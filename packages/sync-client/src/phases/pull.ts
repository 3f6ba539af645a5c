/**
 * Pull (patent FIG. 7/8, docs/spec.md §4.6): ask the server how many Inbox slots are
 * free, then insert the top desktop messages that are not on the phone, in
 * order, until the window is full. Each insert is a durable action like any
 * other, so a crash between the server's insert and our mapping is answered
 * from the server's record of applied actions, not inserted twice. A message
 * whose insert is still pending (deferred: the server failed to take it) is
 * not queued twice; one set aside in the quarantine is not in the top W at
 * all (agent-store.ts), so the next message takes its slot.
 */
import type { SyncContext } from './context.js';
import { pushActions } from './push-actions.js';

export async function pull(ctx: SyncContext): Promise<number> {
  const { store, conn, options } = ctx;
  const pending = new Set(store.pendingActions().flatMap((p) => (p.action.kind === 'insert' && p.uid !== null ? [p.uid] : [])));
  const missing = store.topOfInbox(options.window, options.unreadFirst).filter((entry) => !store.mappingByUid('inbox', entry.uid) && !pending.has(entry.uid));
  // Every top-W message is on the phone or on its way: whatever is free, there is nothing to ask about (a round trip saved).
  if (missing.length === 0) return 0;
  conn.send({ type: 'freeSlots' });
  const { free } = (await conn.expect('freeSlotsResult')).message;
  const queued = missing.slice(0, free);
  store.transaction(() => {
    for (const entry of queued) store.appendAction({ kind: 'insert', date: entry.date, seen: entry.seen, flagged: entry.flagged, tiebreak: entry.uid }, entry.uid);
  });
  await pushActions(ctx, 'pulling');
  ctx.counters.pulled += queued.length;
  return queued.length;
}
