/**
 * The app's link to the desktop mailbox beyond the window (docs/reach.md):
 * every read here is a question the server passes to the desktop agent, so
 * it is never queued offline and never cached by the service worker (sw.ts
 * caches only the window's reads). Actions go at once, or fail with a reason
 * the user can act on: the desktop being offline is not "try later" but
 * "open what the phone holds".
 *
 * What the server answers is normalized here, once: the views get one shape
 * whatever form a field came in (desktop-types.ts).
 */
import { ApiError, call, Offline, SignedOut } from './api.js';
import type { DesktopAction, DesktopAttachment, DesktopEmail, DesktopFilter, DesktopMailbox, DesktopPage, DesktopSummary } from './desktop-types.js';

/** How many results a page asks for (the API allows at most 100). */
export const PAGE_SIZE = 20;

/** What the user reads when the desktop cannot answer (the brief's words for DESKTOP_OFFLINE). */
export const DESKTOP_OFFLINE_TEXT = 'Your desktop is offline: only the messages on the phone can be opened.';
export const TIMEOUT_TEXT = 'The desktop did not answer in time. It may be busy or on a slow link: try again.';

const str = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) ? v.filter((x) => typeof x === 'string').join(', ') : '');
const strOrNull = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/** A time as ISO text, whether it came as text or as milliseconds. */
const iso = (v: unknown): string => {
  const date = typeof v === 'number' || typeof v === 'string' ? new Date(v) : new Date(NaN);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
};
const list = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? v.split(/\s+/).filter(Boolean) : [];
type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v !== null && typeof v === 'object' ? (v as Raw) : {});

function summaryOf(v: unknown): DesktopSummary {
  const r = obj(v);
  return {
    id: str(r.id),
    mailboxId: str(r.mailboxId),
    receivedAt: iso(r.receivedAt),
    from: str(r.from),
    to: str(r.to),
    subject: str(r.subject),
    size: num(r.size),
    seen: r.seen === true,
    flagged: r.flagged === true,
    hasAttachment: r.hasAttachment === true,
    preview: str(r.preview),
  };
}

function attachmentOf(v: unknown): DesktopAttachment {
  const r = obj(v);
  const disposition = r.disposition === 'inline' || r.disposition === 'attachment' ? r.disposition : null;
  return { partId: str(r.partId), type: str(r.type) || 'application/octet-stream', name: strOrNull(r.name), size: num(r.size), disposition, cid: strOrNull(r.cid) };
}

function emailOf(v: unknown): DesktopEmail {
  const r = obj(v);
  const receivedAt = iso(r.receivedAt);
  return {
    id: str(r.id),
    mailboxId: str(r.mailboxId),
    receivedAt,
    seen: r.seen === true,
    flagged: r.flagged === true,
    size: num(r.size),
    subject: str(r.subject),
    from: str(r.from),
    to: str(r.to),
    cc: str(r.cc),
    date: iso(r.date) || receivedAt,
    messageId: strOrNull(r.messageId),
    inReplyTo: strOrNull(r.inReplyTo),
    references: list(r.references),
    text: str(r.text),
    html: typeof r.html === 'string' ? r.html : null,
    isTruncated: r.isTruncated === true,
    attachments: Array.isArray(r.attachments) ? r.attachments.map(attachmentOf).filter((a) => a.partId !== '') : [],
  };
}

function mailboxOf(v: unknown): DesktopMailbox {
  const r = obj(v);
  return {
    id: str(r.id),
    name: str(r.name) || str(r.id),
    parentId: strOrNull(r.parentId),
    role: (strOrNull(r.role) as DesktopMailbox['role']) ?? null,
    totalEmails: numOrNull(r.totalEmails),
    unreadEmails: numOrNull(r.unreadEmails),
    selectable: r.selectable !== false,
  };
}

const emailPath = (id: string) => `/api/v1/desktop/emails/${encodeURIComponent(id)}`;

export const desktop = {
  mailboxes: async (): Promise<DesktopMailbox[]> => {
    const r = obj(await call<unknown>('GET', '/api/v1/desktop/mailboxes'));
    return Array.isArray(r.mailboxes) ? r.mailboxes.map(mailboxOf).filter((m) => m.id !== '') : [];
  },
  /** A page of a search (or of a folder: a search with only `inMailbox`), newest first. */
  query: async (filter: DesktopFilter, position: number, limit = PAGE_SIZE): Promise<DesktopPage> => {
    const r = obj(await call<unknown>('POST', '/api/v1/desktop/query', { filter, position, limit }));
    return { total: numOrNull(r.total), position: num(r.position), items: Array.isArray(r.items) ? r.items.map(summaryOf).filter((m) => m.id !== '') : [] };
  },
  email: async (id: string): Promise<DesktopEmail> => emailOf(await call<unknown>('GET', emailPath(id))),
  /** An action on the desktop; the answer is the message's id afterwards (a new one after a move or trash). */
  act: async (id: string, action: DesktopAction, mailboxId?: string): Promise<string> => {
    const r = obj(await call<unknown>('POST', `${emailPath(id)}/${action}`, action === 'move' ? { mailboxId } : {}));
    return str(r.id) || id;
  },
};

/** The sanitized HTML view of a desktop message, for the sandboxed frame (the same rules as a window message's). */
export const desktopViewUrl = (id: string): string => `${emailPath(id)}/view`;

/** A part's download address: fetched from the desktop only when the link is followed. */
export const desktopPartUrl = (id: string, partId: string): string => `${emailPath(id)}/parts/${encodeURIComponent(partId)}`;

/**
 * A part fetched by the page and saved as a file: only when the desktop is offline, where the server
 * answers from its cache or refuses (the refusal is thrown as the API's error, to be said in words).
 * Online, a part is a plain download link instead: the browser streams it to disk, never all in memory.
 */
export async function saveOffline(url: string, name: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { credentials: 'same-origin' });
  } catch {
    throw new Offline('no connection to the server');
  }
  if (!res.ok) {
    const json = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    if (res.status === 401) throw new SignedOut(json.error?.message ?? 'signed out');
    throw new ApiError(json.error?.code ?? `HTTP_${res.status}`, json.error?.message ?? `the server answered ${res.status}`);
  }
  const link = document.createElement('a');
  // Typed as bytes, whatever the sender said: a blob: URL has the app's origin, and one typed text/html or
  // image/svg+xml would run the mail's script there in a browser that opens it instead of saving it.
  link.href = URL.createObjectURL(new Blob([await res.arrayBuffer()], { type: 'application/octet-stream' }));
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

/** Why a desktop request failed, in words for the user. */
export function desktopErrorText(err: unknown): string {
  if (err instanceof Offline) return 'The phone has no connection: the desktop mailbox needs one. The messages on the phone can still be opened.';
  if (err instanceof ApiError) {
    switch (err.code) {
      case 'DESKTOP_OFFLINE':
        return DESKTOP_OFFLINE_TEXT;
      case 'TIMEOUT':
        return TIMEOUT_TEXT;
      case 'NOT_FOUND':
        return 'This is not on the desktop any more (moved or deleted there).';
      case 'DESKTOP_BUSY':
        return 'The desktop is answering as many requests as it takes: try again in a moment.';
      case 'DESKTOP_OUTDATED':
        return 'The desktop agent is too old to answer the phone: update twinbox-agent on the desktop.';
      case 'DESKTOP_REFUSED':
        return `The desktop's mail server refused it: ${err.message}`;
      default:
        return err.message;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

/** Is this failure "the desktop is not there" (which the views show as the offline banner, not as a one-off error)? */
export const desktopIsOffline = (err: unknown): boolean => err instanceof ApiError && err.code === 'DESKTOP_OFFLINE';
