/**
 * The desktop's folder tree (GET /api/v1/desktop/mailboxes, like JMAP's
 * Mailbox/get): read once and kept for the page's life, since search scopes,
 * "Move to…" and the folder list all need it; read afresh when the folder
 * list is opened, after a move (the counts changed), or on "Try again".
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { desktop } from './desktop-api.js';
import type { DesktopMailbox, MailboxRole } from './desktop-types.js';

export interface Mailboxes {
  mailboxes: DesktopMailbox[] | undefined;
  loading: boolean;
  error?: unknown;
}

let kept: DesktopMailbox[] | undefined;
/** A read under way: asked again meanwhile, it is the same read (two views mounting at once ask once). */
let reading: Promise<DesktopMailbox[]> | undefined;
const listeners = new Set<(m: DesktopMailbox[]) => void>();

export function useMailboxes(onFatal: (err: unknown) => boolean): Mailboxes & { reload: () => void } {
  const [state, setState] = useState<Mailboxes>({ mailboxes: kept, loading: false });
  const fatal = useRef(onFatal);
  fatal.current = onFatal;
  const reload = useCallback(async () => {
    setState((s) => ({ mailboxes: s.mailboxes, loading: true }));
    try {
      reading ??= desktop.mailboxes().finally(() => (reading = undefined));
      kept = await reading;
      for (const listener of listeners) listener(kept);
    } catch (err) {
      if (!fatal.current(err)) setState((s) => ({ mailboxes: s.mailboxes, loading: false, error: err }));
    }
  }, []);
  useEffect(() => {
    const listener = (m: DesktopMailbox[]) => setState({ mailboxes: m, loading: false });
    listeners.add(listener);
    if (!kept) void reload();
    return () => void listeners.delete(listener);
  }, []);
  return { ...state, reload: () => void reload() };
}

/** The folders' order on screen: the roles a mail client puts first, then by name (RFC 6154's roles, JMAP's names). */
const ROLE_ORDER: MailboxRole[] = ['inbox', 'drafts', 'sent', 'archive', 'all', 'flagged', 'important', 'junk', 'trash'];
const rank = (m: DesktopMailbox) => (m.role ? ROLE_ORDER.indexOf(m.role) : ROLE_ORDER.length);

export const ROLE_NAMES: Record<MailboxRole, string> = {
  inbox: 'Inbox',
  drafts: 'Drafts',
  sent: 'Sent',
  archive: 'Archive',
  all: 'All mail',
  flagged: 'Flagged',
  important: 'Important',
  junk: 'Junk',
  trash: 'Trash',
};

export interface FolderNode {
  mailbox: DesktopMailbox;
  depth: number;
}

/**
 * The tree, flattened in display order with each folder's depth. A folder whose parent is not in the
 * list (or a cycle, which a hostile server could send) is shown at the top level, never lost or looped.
 */
export function folderTree(mailboxes: DesktopMailbox[]): FolderNode[] {
  const ids = new Set(mailboxes.map((m) => m.id));
  const children = new Map<string | null, DesktopMailbox[]>();
  for (const m of mailboxes) {
    const parent = m.parentId !== null && ids.has(m.parentId) && m.parentId !== m.id ? m.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), m]);
  }
  const out: FolderNode[] = [];
  const seen = new Set<string>();
  const walk = (parent: string | null, depth: number) => {
    const kids = [...(children.get(parent) ?? [])].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
    for (const m of kids) {
      if (seen.has(m.id)) continue;
      seen.add(m.id);
      out.push({ mailbox: m, depth });
      walk(m.id, depth + 1);
    }
  };
  walk(null, 0);
  // What only a cycle reaches: shown at the top level.
  for (const m of mailboxes) {
    if (seen.has(m.id)) continue;
    seen.add(m.id);
    out.push({ mailbox: m, depth: 0 });
  }
  return out;
}

/** A folder's name for the user: the desktop's, but IMAP's "INBOX" as a person writes it. */
export const folderName = (m: DesktopMailbox): string => (m.role === 'inbox' || m.id.toUpperCase() === 'INBOX' ? 'Inbox' : m.name);
