/**
 * Normalization (patent FIG. 6, docs/spec.md §4.5), run in every sync: phone Inbox
 * messages whose desktop copy is no longer among the top W of the desktop
 * INBOX leave the phone (`unmap`: the desktop keeps them) and lose their
 * mapping when the server acknowledges.
 */
import type { SyncContext } from './context.js';
import { pushActions } from './push-actions.js';

export async function normalize(ctx: SyncContext): Promise<number> {
  const { store, options } = ctx;
  let evicted = 0;
  store.transaction(() => {
    const top = new Set(store.topOfInbox(options.window, options.unreadFirst).map((e) => e.uid));
    const alreadyLeaving = new Set(store.pendingActions().filter((p) => p.action.kind === 'unmap').map((p) => ('phoneId' in p.action ? p.action.phoneId : 0)));
    for (const m of store.mappings('inbox')) {
      if (top.has(m.uid) || alreadyLeaving.has(m.phoneId)) continue;
      store.appendAction({ kind: 'unmap', phoneId: m.phoneId });
      evicted++;
    }
  });
  await pushActions(ctx);
  ctx.counters.unmapped += evicted;
  return evicted;
}
