/**
 * A stored message as the phone shows it: headers, text and HTML bodies and
 * the attachment list, parsed with mailparser. Attachment bytes are served
 * separately, on request.
 */
import { simpleParser, type AddressObject } from 'mailparser';

export interface RenderedMessage {
  subject: string;
  from: string;
  to: string;
  cc: string;
  date: string | null;
  messageId: string | null;
  /** Its References field's message IDs (for a reply's References: RFC 5322 §3.6.4). */
  references: string[];
  text: string;
  html: string | null;
  attachments: { index: number; filename: string | null; contentType: string; size: number }[];
}

const addresses = (a: AddressObject | AddressObject[] | undefined) => (a ? (Array.isArray(a) ? a.map((x) => x.text).join(', ') : a.text) : '');

/** With `inlineImages`, cid: references in the HTML become data: URLs of their parts (for the message view). */
export async function renderMessage(raw: Buffer, options: { inlineImages?: boolean } = {}): Promise<RenderedMessage> {
  const parsed = await simpleParser(raw, { skipImageLinks: !options.inlineImages });
  return {
    subject: parsed.subject ?? '',
    from: addresses(parsed.from),
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    date: parsed.date ? parsed.date.toISOString() : null,
    messageId: parsed.messageId ?? null,
    references: parsed.references === undefined ? [] : Array.isArray(parsed.references) ? parsed.references : [parsed.references],
    text: parsed.text ?? '',
    html: parsed.html === false ? null : (parsed.html ?? null),
    attachments: parsed.attachments.map((a, index) => ({ index, filename: a.filename ?? null, contentType: a.contentType, size: a.size })),
  };
}

export async function attachmentOf(raw: Buffer, index: number): Promise<{ filename: string | null; contentType: string; content: Buffer } | undefined> {
  const parsed = await simpleParser(raw);
  const a = parsed.attachments[index];
  return a ? { filename: a.filename ?? null, contentType: a.contentType, content: a.content } : undefined;
}
