/**
 * What a push carries (issue 20): the notification's facts, never a body. It
 * is encrypted for the browser alone (RFC 8291); the push service sees only
 * its size, the Topic and the Urgency.
 *
 *   { "type": "newMail", "v": 1, "account": "alice", "count": 3, "message": 1234,
 *     "from": "Ann Smith", "subject": "Lunch?" }
 *
 * `count`: new messages since this browser last looked (a burst collapses into
 * one notification, "3 new messages"); `message`: the newest one's phone ID
 * (clicking the notification opens it). `from` and `subject` only where the
 * user chose to see them (`show: "sender"`); with `show: "count"` the
 * notification says only "New mail". Each is cut to PUSH_LIMITS.maxFieldChars
 * characters and the whole stays under PUSH_LIMITS.maxPayloadBytes.
 */
import { headerBlockOf } from '@twinbox/protocol';
import { simpleParser } from 'mailparser';
import { PUSH_LIMITS } from './limits.js';

export interface NewMailNotice {
  account: string;
  count: number;
  message: number;
  /** Only with show "sender". */
  sender?: { from: string; subject: string };
}

/** One line, no control characters, at most `max` characters (never half a character). */
export function oneLine(text: string, max: number = PUSH_LIMITS.maxFieldChars): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  const chars = [...flat];
  return chars.length <= max ? flat : `${chars.slice(0, max - 1).join('')}…`;
}

export function notificationPayload(notice: NewMailNotice): Buffer {
  for (let max: number = PUSH_LIMITS.maxFieldChars; ; max = Math.floor(max / 2)) {
    const data = Buffer.from(
      JSON.stringify({
        type: 'newMail',
        v: 1,
        account: notice.account,
        count: notice.count,
        message: notice.message,
        ...(notice.sender ? { from: oneLine(notice.sender.from, max), subject: oneLine(notice.sender.subject, max) } : {}),
      }),
    );
    if (data.length <= PUSH_LIMITS.maxPayloadBytes) return data;
    if (max <= 1) throw new Error(`a notification for account ${notice.account} does not fit in ${PUSH_LIMITS.maxPayloadBytes} bytes`);
  }
}

/** The sender's name (else address) and the subject of a stored message, decoded (RFC 2047), from its header alone. */
export async function senderAndSubject(raw: Buffer): Promise<{ from: string; subject: string }> {
  const header = Buffer.from(`${headerBlockOf(raw)}\r\n\r\n`, 'latin1');
  const parsed = await simpleParser(header, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
  const first = parsed.from?.value[0];
  return { from: first?.name || first?.address || parsed.from?.text || '', subject: parsed.subject ?? '' };
}
