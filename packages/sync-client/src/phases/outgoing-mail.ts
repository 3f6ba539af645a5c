/**
 * Outgoing mail from the phone, at the desktop (docs/spec.md §7, patent FIG. 12).
 *
 *   deliver: SMTP connect ─► journal `sending` ─► envelope + message ─► journal `sent` ─► APPEND to Sent ─► ack ok
 *            crash before `sending` (nothing transmitted yet) ─► sent again at the next sync
 *            SMTP refused      ─► journal row dropped ─► ack failed + the SMTP error
 *            `sending` found after a crash ─► ack failed "state unknown", never sent again
 *   sent:    APPEND a copy of what the phone sent directly to the desktop Sent folder
 *
 * The journal row is committed before the first byte of the envelope goes to
 * SMTP (the "ran" marker of Mailspring): a message is never sent twice, and never
 * dropped in silence — a delivery whose fate is unknown comes back to the
 * phone as failed, with an explanation, for the user to decide.
 *
 * Fault-injection points for tests: TWINBOX_KILL_AT=before-transmit,
 * after-smtp or after-send-record kills the agent with SIGKILL at that step.
 */
import { fingerprintOfRaw, toCrlf, type Envelope, type ServerActionResult } from '@twinbox/protocol';
import type { SyncContext } from './context.js';

export interface MailOutcome {
  result: ServerActionResult;
  error?: string;
}

const UNKNOWN =
  'delivery state unknown: the desktop agent stopped while handing the message to the SMTP server; check the desktop Sent folder and ask the recipients before sending it again';

function killPoint(name: string): void {
  if (process.env.TWINBOX_KILL_AT === name) process.kill(process.pid, 'SIGKILL');
}

/** File a copy in the desktop Sent folder, once: a copy appended before a crash is found by fingerprint. */
async function fileInSent(ctx: SyncContext, raw: Buffer, fingerprint: string, date: Date, minUid: number): Promise<void> {
  if ((await ctx.imap.findByFingerprint('sent', fingerprint, minUid)) !== undefined) return;
  await ctx.imap.append('sent', raw, { seen: true, flagged: false }, date, fingerprint);
}

export async function deliver(ctx: SyncContext, seq: number, phoneId: number, envelope: Envelope, body: Buffer): Promise<MailOutcome> {
  const { store, imap } = ctx;
  const raw = toCrlf(body);
  const fingerprint = fingerprintOfRaw(raw);
  let record = store.sendRecord(seq);
  if (record?.state === 'sending') {
    store.transaction(() => store.recordServerAction(seq));
    return { result: 'failed', error: UNKNOWN };
  }
  if (!record) {
    if (!ctx.smtp) return { result: 'failed', error: 'the desktop agent has no SMTP server configured (twinbox-agent pair --smtp-host …)' };
    const sentMinUid = await imap.statusUidNext('sent');
    try {
      // Journalled at the last moment before the envelope goes out: a crash before it retries, after it is unknown.
      await ctx.smtp.send(envelope, raw, () => {
        killPoint('before-transmit');
        store.transaction(() => store.recordSend(seq, phoneId, 'sending', fingerprint, sentMinUid));
      });
    } catch (err) {
      // Refused: nothing left; the phone shows the error and may retry (a new action).
      store.transaction(() => {
        store.deleteSend(seq);
        store.recordServerAction(seq);
      });
      return { result: 'failed', error: `desktop SMTP server: ${(err as Error).message}` };
    }
    killPoint('after-smtp');
    store.transaction(() => store.recordSend(seq, phoneId, 'sent', fingerprint, sentMinUid));
    killPoint('after-send-record');
    record = { state: 'sent', fingerprint, sentMinUid };
  }
  await fileInSent(ctx, raw, fingerprint, new Date(), record.sentMinUid);
  store.transaction(() => store.recordServerAction(seq));
  return { result: 'ok' };
}

export async function fileSent(ctx: SyncContext, seq: number, phoneId: number, date: number, body: Buffer): Promise<MailOutcome> {
  const { store, imap } = ctx;
  const raw = toCrlf(body);
  const fingerprint = fingerprintOfRaw(raw);
  let record = store.sendRecord(seq);
  if (!record) {
    record = { state: 'sent', fingerprint, sentMinUid: await imap.statusUidNext('sent') };
    store.transaction(() => store.recordSend(seq, phoneId, 'sent', fingerprint, record!.sentMinUid));
  }
  await fileInSent(ctx, raw, fingerprint, new Date(date), record.sentMinUid);
  store.transaction(() => store.recordServerAction(seq));
  return { result: 'ok' };
}
