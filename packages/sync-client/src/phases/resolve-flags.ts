/**
 * The same message found on both sides with no agreed state to merge against
 * (initial sync, a phone insert that matches a desktop message): the account's
 * conflict policy decides (docs/spec.md §6). `desktop` (the default) pushes the
 * desktop's flags to the phone as actions; `phone` sets the phone's flags on
 * the desktop. Either way the mapping ends with the winner's values agreed.
 */
import { flagActionsBetween, type AgentAction } from '@twinbox/protocol';
import type { FolderRole } from '../store/agent-store.js';
import type { SyncContext } from './context.js';

interface Flags {
  seen: boolean;
  flagged: boolean;
}

export async function resolveFlagConflict(ctx: SyncContext, phoneId: number, folder: FolderRole, uid: number, desktop: Flags, phone: Flags): Promise<void> {
  const { store, imap, options } = ctx;
  if (desktop.seen === phone.seen && desktop.flagged === phone.flagged) return;
  if (options.conflictPolicy === 'phone') {
    await imap.setFlags(folder, uid, {
      ...(desktop.seen !== phone.seen ? { seen: phone.seen } : {}),
      ...(desktop.flagged !== phone.flagged ? { flagged: phone.flagged } : {}),
    });
    store.transaction(() => {
      const m = store.mappingByPhoneId(phoneId);
      if (m) store.putMapping({ ...m, ...phone });
      if (folder === 'inbox' && store.inboxEntry(uid)) store.setInboxFlags(uid, phone.seen, phone.flagged);
    });
    return;
  }
  const actions: AgentAction[] = flagActionsBetween(phone, desktop).map((kind) => ({ kind, phoneId }));
  store.transaction(() => {
    for (const action of actions) store.appendAction(action);
    const m = store.mappingByPhoneId(phoneId);
    if (m) store.putMapping({ ...m, ...desktop });
  });
}
