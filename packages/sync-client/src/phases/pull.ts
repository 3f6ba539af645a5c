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
  conn.send({ type: 'freeSlots' });
  let { free } = (await conn.expect('freeSlotsResult')).message;
  let queued = 0;
  store.transaction(() => {
    const pending = new Set(store.pendingActions().flatMap((p) => (p.action.kind === 'insert' && p.uid !== null ? [p.uid] : [])));
    for (const entry of store.topOfInbox(options.window, options.unreadFirst)) {
      if (free <= 0) break;
      if (store.mappingByUid('inbox', entry.uid) || pending.has(entry.uid)) continue;
      store.appendAction({ kind: 'insert', date: entry.date, seen: entry.seen, flagged: entry.flagged, tiebreak: entry.uid }, entry.uid);
      free--;
      queued++;
    }
  });
  await pushActions(ctx, 'pulling');
  ctx.counters.pulled += queued;
  return queued;
}
