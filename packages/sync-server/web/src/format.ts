/** Small pure helpers: dates for lists, names from address fields, reply and forward text. */
import type { Message } from './types.js';

// Made once: a formatter costs far more to make than to use (a list of 50 dates would make 50).
const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const DAY = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const FULL_DAY = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });

export function listDate(iso: string, now = new Date()): string {
  const date = new Date(iso);
  if (date.toDateString() === now.toDateString()) return TIME.format(date);
  if (date.getFullYear() === now.getFullYear()) return DAY.format(date);
  return FULL_DAY.format(date);
}

export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

/** "Ann Smith <ann@x>" → "Ann Smith"; a bare address stays. */
export function displayName(from: string): string {
  const named = /^\s*"?([^"<]+?)"?\s*<[^>]+>/.exec(from);
  return (named?.[1] ?? from).trim() || '(no sender)';
}

/** The addresses in a header field ("A <a@x>, b@y" → ["a@x", "b@y"]). */
export function addresses(field: string): string[] {
  return [...field.matchAll(/[^\s<>,;"]+@[^\s<>,;"]+/g)].map((m) => m[0]);
}

export function splitAddresses(input: string): string[] {
  return input.split(/[,;\s]+/).map((a) => a.trim()).filter(Boolean);
}

const prefixed = (prefix: string, subject: string) => (new RegExp(`^${prefix}:`, 'i').test(subject.trim()) ? subject : `${prefix}: ${subject}`);

const quote = (text: string) => text.split(/\r?\n/).map((line) => `> ${line}`).join('\n');

export interface Draft {
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  text: string;
  inReplyTo?: string;
  references?: string;
  /** A forward carries the original's attachments: fetched from the server when it is sent. */
  forwardAttachments?: { url: string; filename: string; contentType: string }[];
}

export const emptyDraft: Draft = { to: '', cc: '', bcc: '', subject: '', text: '' };

/** What a reply or a forward takes from the original: a window message, or a desktop message opened beyond the window (issue 21). */
export type Original = Pick<Message, 'from' | 'to' | 'cc' | 'subject' | 'date' | 'text' | 'messageId' | 'references'>;

/** A reply: to the sender (and, for reply-all, the others but oneself), quoting, threaded (RFC 5322 §3.6.4). */
export function replyDraft(m: Original, all: boolean, self: string): Draft {
  const sender = addresses(m.from);
  const others = all ? [...addresses(m.to), ...addresses(m.cc)].filter((a) => a.toLowerCase() !== self.toLowerCase() && !sender.includes(a)) : [];
  const references = m.messageId ? [...m.references, m.messageId].join(' ') : undefined;
  return {
    to: sender.join(', '),
    cc: others.join(', '),
    bcc: '',
    subject: prefixed('Re', m.subject),
    text: `\n\nOn ${new Date(m.date).toLocaleString()}, ${m.from} wrote:\n${quote(m.text)}`,
    ...(m.messageId ? { inReplyTo: m.messageId } : {}),
    ...(references ? { references } : {}),
  };
}

export function forwardDraft(m: Message): Draft {
  return forwardDraftOf(
    m,
    m.attachments.map((a) => ({ url: `/api/v1/messages/${m.id}/attachments/${a.index}`, filename: a.filename ?? `attachment-${a.index + 1}`, contentType: a.contentType })),
  );
}

/** A forward of any original, carrying these attachments (fetched when it is sent). */
export function forwardDraftOf(m: Original, forwardAttachments: NonNullable<Draft['forwardAttachments']>): Draft {
  const header = [`From: ${m.from}`, `Date: ${new Date(m.date).toLocaleString()}`, `Subject: ${m.subject}`, `To: ${m.to}`, ...(m.cc ? [`Cc: ${m.cc}`] : [])].join('\n');
  return {
    ...emptyDraft,
    subject: prefixed('Fwd', m.subject),
    text: `\n\n---------- Forwarded message ----------\n${header}\n\n${m.text}`,
    ...(forwardAttachments.length > 0 ? { forwardAttachments } : {}),
  };
}

export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
