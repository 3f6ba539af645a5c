/**
 * Composes the RFC 5322 message for a phone's send request (nodemailer's
 * MailComposer), with its SMTP envelope. The From address is the account's
 * phone address.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Envelope } from '@twinbox/protocol';

export interface ComposeRequest {
  to: string[];
  cc?: string[];
  bcc?: string[];
  subject: string;
  text: string;
  html?: string;
  attachments?: { filename: string; contentType?: string; contentBase64: string }[];
  inReplyTo?: string;
  /** The replied-to message's References and Message-ID (RFC 5322 §3.6.4); defaults to inReplyTo. */
  references?: string;
}

export async function compose(from: string, request: ComposeRequest): Promise<{ raw: Buffer; envelope: Envelope }> {
  const mail = new MailComposer({
    from,
    to: request.to,
    ...(request.cc ? { cc: request.cc } : {}),
    ...(request.bcc ? { bcc: request.bcc } : {}),
    subject: request.subject,
    text: request.text,
    ...(request.html ? { html: request.html } : {}),
    ...(request.inReplyTo ? { inReplyTo: request.inReplyTo, references: request.references ?? request.inReplyTo } : {}),
    attachments: (request.attachments ?? []).map((a) => ({ filename: a.filename, content: Buffer.from(a.contentBase64, 'base64'), ...(a.contentType ? { contentType: a.contentType } : {}) })),
  });
  const raw = await mail.compile().build();
  return { raw, envelope: { from, to: [...request.to, ...(request.cc ?? []), ...(request.bcc ?? [])] } };
}
