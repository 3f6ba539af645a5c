/**
 * The initial sync's phone list, a page at a time (issue 9.7): Inbox and
 * Trash messages in phone ID order, each page cut at about
 * LIMITS.phoneListPageBytes of JSON so that any number of phone messages
 * travels in frames the header limit allows. `next` is the `after` of the
 * following page (the agent asks for it with listPhone), null after the last.
 */
import { LIMITS, type PhoneChange, type PhoneListEntry } from '@twinbox/protocol';
import type { ServerStore } from '../store/index.js';

/** Rows read per page before cutting it by bytes. */
const PAGE_ROWS = 5000;

export async function phoneListPage(
  store: ServerStore,
  accountId: string,
  after: number,
  changes: Map<number, PhoneChange[]>,
): Promise<{ messages: PhoneListEntry[]; next: number | null }> {
  const messages: PhoneListEntry[] = [];
  let bytes = 0;
  let last = after;
  for (const p of await store.messages.listAfter(accountId, after, PAGE_ROWS)) {
    const entry: PhoneListEntry = {
      phoneId: p.id,
      folder: p.folder as 'inbox' | 'trash',
      fingerprint: p.fingerprint,
      digest: p.digest,
      date: p.date,
      seen: p.seen,
      flagged: p.flagged,
      changed: changes.get(p.id) ?? [],
    };
    const size = JSON.stringify(entry).length + 1;
    if (messages.length > 0 && bytes + size > LIMITS.phoneListPageBytes) break;
    messages.push(entry);
    bytes += size;
    last = p.id;
  }
  const more = messages.length > 0 && (await store.messages.listAfter(accountId, last, 1)).length > 0;
  return { messages, next: more ? last : null };
}
