/**
 * A desktop message as the phone's API shows it (docs/reach.md: Email/get's
 * answer): header fields decoded as for window messages (mail/header-text.ts),
 * the text and HTML bodies from bodyValues, the attachment list. The HTML is
 * the mail's own: it is shown only through the sanitized view
 * (message-view.ts), as for window messages.
 */
import { parseHeaderFields, type MessageResult, type QueryResult } from '@twinbox/protocol';
import { addressListText, unstructuredText } from '../mail/header-text.js';
import { htmlText } from '../mail/html-text.js';
import { emailIdOf } from './email-id.js';

const VIEW_TEXT_CHARS = 1024 * 1024;

export function querySummary(result: QueryResult) {
  return {
    total: result.total,
    position: result.position,
    items: result.items.map((item) => ({
      id: emailIdOf(item.ref),
      mailboxId: item.ref.mailbox,
      receivedAt: new Date(item.receivedAt).toISOString(),
      from: item.from,
      to: item.to,
      subject: item.subject,
      size: item.size,
      seen: item.seen,
      flagged: item.flagged,
      hasAttachment: item.hasAttachment,
      preview: item.preview,
    })),
  };
}

/** The text and HTML bodies of a message result, and whether any was cut. */
export function bodiesOf(m: MessageResult): { text: string; html: string | null; isTruncated: boolean } {
  const values = (ids: string[]) => ids.map((id) => m.bodyValues[id]).filter((v) => v !== undefined);
  const plain = values(m.textBody);
  const html = values(m.htmlBody);
  const htmlJoined = html.length > 0 ? html.map((v) => v.value).join('\n') : null;
  const text = plain.length > 0 ? plain.map((v) => v.value).join('\n') : htmlJoined !== null ? htmlText(htmlJoined, VIEW_TEXT_CHARS) : '';
  return { text, html: htmlJoined, isTruncated: [...plain, ...html].some((v) => v.isTruncated) };
}

export function emailView(m: MessageResult) {
  const fields = parseHeaderFields(m.headers);
  const field = (name: string) => fields.get(name)?.trim() ?? null;
  const date = field('date');
  const parsedDate = date ? Date.parse(date) : NaN;
  const shown = new Set([...m.textBody, ...m.htmlBody]);
  const { text, html, isTruncated } = bodiesOf(m);
  return {
    id: emailIdOf(m.ref),
    mailboxId: m.ref.mailbox,
    receivedAt: new Date(m.receivedAt).toISOString(),
    seen: m.seen,
    flagged: m.flagged,
    size: m.size,
    subject: unstructuredText(fields.get('subject') ?? ''),
    from: addressListText(fields.get('from') ?? ''),
    to: addressListText(fields.get('to') ?? ''),
    cc: addressListText(fields.get('cc') ?? ''),
    date: Number.isFinite(parsedDate) ? new Date(parsedDate).toISOString() : null,
    messageId: field('message-id'),
    inReplyTo: field('in-reply-to'),
    references: field('references'),
    text,
    html,
    isTruncated,
    attachments: m.parts
      .filter((p) => !shown.has(p.partId))
      .map((p) => ({ partId: p.partId, type: p.type, name: p.name, size: p.size, disposition: p.disposition, cid: p.cid })),
  };
}
