/**
 * Which messages entering the phone Inbox are *new mail* — what a push
 * notification is for (issue 20) — and not the window being filled:
 *
 * - Mail to the phone address (inbound SMTP): new mail, unless it came marked
 *   read (a trusted importer stating it).
 * - A desktop `insert` in an update sync: new mail when it is unread and
 *   arrived on the desktop (its INTERNALDATE) after the last completed sync,
 *   less NEW_MAIL_SLACK_MS for clocks that disagree and mail that came while
 *   that sync ran. An insert that refills the window (the phone trashed
 *   messages; the next ones down come up) carries an old arrival time and
 *   notifies nobody; neither does a message moved back into the desktop INBOX.
 * - An initial sync (a first pairing, a re-pairing) fills the window: nothing
 *   in it is new mail.
 *
 * Whoever stores new mail in the phone Inbox emits `newMail` on the store's
 * events (store/events.ts) once the transaction that stored it commits
 * (`store.engine.afterCommit`: never for one rolled back, and once however
 * often the transaction runs); the push notifier listens.
 */

/** How far before the last completed sync a desktop arrival still counts as new. */
export const NEW_MAIL_SLACK_MS = 10 * 60_000;

/** The arrival time from which desktop inserts of this sync are new mail; undefined: none are (an initial sync). */
export function newMailSince(mode: 'initial' | 'update', lastSyncAt: number | null): number | undefined {
  return mode === 'update' && lastSyncAt !== null ? lastSyncAt - NEW_MAIL_SLACK_MS : undefined;
}

/** Is a desktop insert new mail? */
export function isNewDesktopMail(insert: { seen: boolean; date: number }, since: number | undefined): boolean {
  return since !== undefined && !insert.seen && insert.date >= since;
}
