/**
 * What a new-mail notification says (issue 20), from the push's payload
 * (push/payload.ts on the server): shared by the service worker, which shows
 * it, and the page, which closes it once the user looks.
 *
 *   one message, sender chosen:   "Ann Smith" — "Lunch?"
 *   one message, only "New mail": "New mail"
 *   several:                      "3 new messages" — "Newest: Ann Smith — Lunch?" (sender chosen)
 *
 * Clicking it opens that message (one) or the Inbox (several).
 */
import type { NewMailPush } from './types.js';

/** One notification per browser: a newer one replaces it (a burst is one notification). */
export const NEW_MAIL_TAG = 'twinbox-new-mail';

export interface NotificationText {
  title: string;
  body: string;
  /** Where clicking it leads (the app's route in the fragment). */
  hash: string;
}

/** The payload, if it is one this app knows; anything else is shown as plain "New mail". */
export function parsePush(text: string | undefined): NewMailPush | undefined {
  try {
    const p = JSON.parse(text ?? 'null') as Partial<NewMailPush> | null;
    if (p?.type !== 'newMail' || typeof p.count !== 'number' || typeof p.message !== 'number' || typeof p.account !== 'string') return undefined;
    return p as NewMailPush;
  } catch {
    return undefined;
  }
}

export function notificationText(push: NewMailPush | undefined): NotificationText {
  if (!push) return { title: 'New mail', body: '', hash: '#/inbox' };
  const sender = push.from !== undefined ? push.from || '(no sender)' : undefined;
  const subject = push.subject !== undefined ? push.subject || '(no subject)' : undefined;
  if (push.count <= 1) return { title: sender ?? 'New mail', body: subject ?? '', hash: `#/message/${push.message}` };
  return { title: `${push.count} new messages`, body: sender ? `Newest: ${sender} — ${subject}` : '', hash: '#/inbox' };
}
