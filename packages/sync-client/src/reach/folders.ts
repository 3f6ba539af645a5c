/**
 * The desktop's folders as the phone sees them (JMAP Mailbox/get, RFC 8621
 * §2): LIST with SPECIAL-USE roles (RFC 6154; imapflow also knows the usual
 * localized names) and STATUS counts (LIST-STATUS where offered, RFC 5819),
 * and a message's folder opened again by its ref, refused (NOT_FOUND) when
 * the folder is gone or its UIDVALIDITY changed (RFC 3501 §2.3.1.1: the UIDs
 * then name other messages).
 */
import type { ImapFlow, ListResponse } from 'imapflow';
import { MAILBOX_ROLES, REQUEST_LIMITS, type MailboxInfo, type MailboxRole, type MessageRef } from '@twinbox/protocol';
import type { LaneContext } from './lane.js';
import { RequestFailure } from './failure.js';

function roleOf(folder: ListResponse, lane: LaneContext): MailboxRole | null {
  if (folder.path.toUpperCase() === 'INBOX') return 'inbox';
  // The user's own choice of Trash and Sent (agent config) is the one the sync uses too.
  if (lane.settings.trashFolder === folder.path) return 'trash';
  if (lane.settings.sentFolder === folder.path) return 'sent';
  const named = folder.specialUse?.replace(/^\\/, '').toLowerCase();
  return named && (MAILBOX_ROLES as readonly string[]).includes(named) ? (named as MailboxRole) : null;
}

const selectable = (f: ListResponse) => !f.flags.has('\\Noselect') && !f.flags.has('\\NonExistent');

export async function listMailboxes(lane: LaneContext, withCounts: boolean): Promise<MailboxInfo[]> {
  const listed = await lane.client.list(withCounts ? { statusQuery: { messages: true, unseen: true } } : {});
  const trashConfigured = lane.settings.trashFolder !== undefined;
  return listed.slice(0, REQUEST_LIMITS.maxMailboxes).map((f) => {
    let role = roleOf(f, lane);
    // A configured Trash is the only Trash.
    if (role === 'trash' && trashConfigured && f.path !== lane.settings.trashFolder) role = null;
    return {
      id: f.path,
      name: f.name,
      parentId: f.parentPath ? f.parentPath : null,
      role,
      totalEmails: f.status?.messages ?? null,
      unreadEmails: f.status?.unseen ?? null,
      selectable: selectable(f),
    };
  });
}

/** Where an all-folder search looks: every selectable folder but Trash and Junk, and not the virtual ones (\All, \Flagged) that hold copies. */
export function searchedFolders(mailboxes: MailboxInfo[]): MailboxInfo[] {
  return mailboxes.filter((m) => m.selectable && !['trash', 'junk', 'all', 'flagged', 'important'].includes(m.role ?? ''));
}

/** Select a folder (read-only unless it is changed); NOT_FOUND when it is not there. */
export async function openFolder(client: ImapFlow, path: string, write: boolean): Promise<{ uidValidity: string }> {
  const current = client.mailbox;
  if (current && current.path === path && (!write || !current.readOnly)) return { uidValidity: String(current.uidValidity) };
  try {
    const opened = await client.mailboxOpen(path, { readOnly: !write });
    return { uidValidity: String(opened.uidValidity) };
  } catch (err) {
    if (!client.usable) throw err;
    throw new RequestFailure('NOT_FOUND', `no folder ${JSON.stringify(path.slice(0, 200))} on the desktop`);
  }
}

/** Select a message's folder; NOT_FOUND when the folder is gone or its UIDs name other messages now. */
export async function openRef(client: ImapFlow, ref: MessageRef, write: boolean): Promise<void> {
  const { uidValidity } = await openFolder(client, ref.mailbox, write);
  if (uidValidity !== ref.uidValidity) throw new RequestFailure('NOT_FOUND', `the folder ${JSON.stringify(ref.mailbox.slice(0, 200))} was re-created on the desktop`);
}
