/**
 * What the phone API answers about the desktop mailbox beyond the window
 * (docs/reach.md, "The phone's API"; shaped like JMAP Mail, RFC 8621).
 *
 * The server makes these answers in src/reach/email-view.ts and
 * src/phone/desktop-api.ts; the web app is built apart from the server (no
 * Node types), so it reads every field through desktop-api.ts, which takes
 * what is missing or of another form (a date the mail did not give: null; a
 * moved message the server could not find again: id null; references as
 * text) and gives the views one shape.
 */

/** SPECIAL-USE roles (RFC 6154) as JMAP names them. */
export type MailboxRole = 'inbox' | 'trash' | 'sent' | 'drafts' | 'junk' | 'archive' | 'all' | 'flagged' | 'important';

export interface DesktopMailbox {
  /** The folder's full path on the desktop: opaque to the app, only sent back. */
  id: string;
  name: string;
  parentId: string | null;
  role: MailboxRole | null;
  totalEmails: number | null;
  unreadEmails: number | null;
  /** False: a folder that only holds folders (\Noselect). */
  selectable: boolean;
}

/** Email/query's filter: the part of it a desktop IMAP search answers. */
export interface DesktopFilter {
  inMailbox?: string;
  text?: string;
  from?: string;
  to?: string;
  subject?: string;
  body?: string;
  /** ISO 8601; the desktop compares by day. */
  after?: string;
  before?: string;
  unread?: boolean;
  flagged?: boolean;
}

/** One desktop message in a list (a search's results, a folder's page). */
export interface DesktopSummary {
  /** Opaque: the folder, its UIDVALIDITY and the UID, encoded (a moved message gets a new one). */
  id: string;
  mailboxId: string;
  receivedAt: string;
  from: string;
  to: string;
  subject: string;
  size: number;
  seen: boolean;
  flagged: boolean;
  hasAttachment: boolean;
  preview: string;
}

export interface DesktopPage {
  /** Matches in all; null where the desktop did not count them. */
  total: number | null;
  position: number;
  items: DesktopSummary[];
}

export interface DesktopAttachment {
  partId: string;
  type: string;
  name: string | null;
  size: number;
  disposition: 'inline' | 'attachment' | null;
  cid: string | null;
}

/** One desktop message opened (Email/get with bodyValues). */
export interface DesktopEmail {
  id: string;
  mailboxId: string;
  receivedAt: string;
  seen: boolean;
  flagged: boolean;
  size: number;
  subject: string;
  from: string;
  to: string;
  cc: string;
  /** The Date header, ISO; the arrival time where it has none. */
  date: string;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  text: string;
  /** Null: no HTML body (the text is shown). The HTML itself is shown only through the sanitized /view. */
  html: string | null;
  /** The text (or HTML) was cut at the server's byte limit. */
  isTruncated: boolean;
  attachments: DesktopAttachment[];
}

/** Email/set on a desktop message, through the desktop action routes. */
export type DesktopAction = 'read' | 'unread' | 'flag' | 'unflag' | 'trash' | 'move';
