/**
 * Initial sync (patent FIG. 4/5, SPEC §4.3), run when either side has no sync
 * state for the other. Both sides forget their old pairing state (patent
 * [0041]), then:
 *
 *   1. list the desktop INBOX and Trash in full, and the phone's Inbox and Trash;
 *   2. pair messages by fingerprint: a message on both sides is mapped, never
 *      copied; where the two disagree (flags, or Trash on one side only) the
 *      account's conflict policy decides (SPEC §6);
 *   3. fetch the phone messages the desktop lacks and APPEND them with their
 *      phone arrival time as INTERNALDATE, mapping each.
 *
 * Nothing is deleted here, so running it again after a crash is safe: what
 * was appended before is found by fingerprint and mapped.
 */
import { randomUUID } from 'node:crypto';
import { LIMITS, TwinboxError, fingerprintOfRaw, toCrlf, type PhoneListEntry } from '@twinbox/protocol';
import type { DesktopSummary } from '../imap/desktop-imap.js';
import type { FolderRole } from '../store/agent-store.js';
import type { SyncContext } from './context.js';
import { pushActions } from './push-actions.js';
import { resolveFlagConflict } from './resolve-flags.js';

async function scanFolder(ctx: SyncContext, role: FolderRole): Promise<DesktopSummary[]> {
  const opened = await ctx.imap.open(role);
  // A live trigger e-mail is the trigger watcher's: never listed, synced or counted (SPEC §8).
  const all = (opened.exists > 0 ? await ctx.imap.summaries(role, 1) : []).filter((s) => role !== 'inbox' || !ctx.triggers.isLive(s));
  ctx.store.transaction(() => {
    if (role === 'inbox') {
      ctx.store.clearInbox();
      for (const s of all) ctx.store.putInboxEntry(s);
    }
    ctx.store.setFolderState(role, { uidValidity: opened.uidValidity, highestModseq: opened.highestModseq, uidNext: opened.uidNext });
  });
  return all;
}

/** Desktop messages by fingerprint, each usable by one phone message only. */
class Unclaimed {
  private readonly byFingerprint = new Map<string, DesktopSummary[]>();
  constructor(list: DesktopSummary[]) {
    for (const s of [...list].sort((a, b) => a.uid - b.uid)) {
      const bucket = this.byFingerprint.get(s.fingerprint) ?? [];
      bucket.push(s);
      this.byFingerprint.set(s.fingerprint, bucket);
    }
  }
  take(fingerprint: string): DesktopSummary | undefined {
    return this.byFingerprint.get(fingerprint)?.shift();
  }
}

/** Pair one phone message with a desktop copy found in `desktopFolder`; resolve the folder disagreement by policy. */
async function pair(ctx: SyncContext, phone: PhoneListEntry, desktopFolder: FolderRole, desktop: DesktopSummary): Promise<void> {
  const { store, imap, options } = ctx;
  const phoneFolder: FolderRole = phone.folder;
  let folder = desktopFolder;
  let uid = desktop.uid;
  if (phoneFolder !== desktopFolder) {
    if (options.conflictPolicy === 'phone') {
      const moved = await imap.move(desktopFolder, uid, phoneFolder, desktop.fingerprint);
      if (moved === undefined) throw new TwinboxError('IMAP', `message ${uid} could not be found after moving it to ${phoneFolder}`);
      store.transaction(() => {
        if (desktopFolder === 'inbox') store.deleteInboxEntry(uid);
        else store.putInboxEntry({ ...desktop, uid: moved });
      });
      folder = phoneFolder;
      uid = moved;
    } else {
      store.transaction(() => store.appendAction({ kind: desktopFolder === 'trash' ? 'trash' : 'recover', phoneId: phone.phoneId }));
    }
  }
  store.transaction(() => store.putMapping({ phoneId: phone.phoneId, folder, uid, fingerprint: desktop.fingerprint, seen: desktop.seen, flagged: desktop.flagged }));
  await resolveFlagConflict(ctx, phone.phoneId, folder, uid, desktop, phone);
}

async function fetchMissing(ctx: SyncContext, missing: PhoneListEntry[]): Promise<void> {
  const { store, imap, conn } = ctx;
  const folderOf = new Map(missing.map((p) => [p.phoneId, p.folder]));
  for (let i = 0; i < missing.length; i += LIMITS.maxInFlight) {
    const batch = missing.slice(i, i + LIMITS.maxInFlight);
    conn.send({ type: 'fetchPhone', phoneIds: batch.map((p) => p.phoneId) });
    for (let n = 0; n < batch.length; n++) {
      const frame = await conn.expect('phoneMessage', 'phoneGone');
      if (frame.message.type === 'phoneGone') continue;
      const { phoneId, date, seen, flagged } = frame.message;
      const folder: FolderRole = folderOf.get(phoneId) ?? 'inbox';
      const raw = toCrlf(frame.body!);
      const fingerprint = fingerprintOfRaw(raw);
      const uid = await imap.append(folder, raw, { seen, flagged }, new Date(date), fingerprint);
      ctx.counters.insertedOnDesktop++;
      store.transaction(() => {
        if (folder === 'inbox') store.putInboxEntry({ uid, date: Math.floor(date / 1000) * 1000, seen, flagged, fingerprint, size: raw.length });
        store.putMapping({ phoneId, folder, uid, fingerprint, seen, flagged });
      });
    }
  }
}

export async function initialSync(ctx: SyncContext): Promise<void> {
  const { store, conn, log } = ctx;
  const syncEpoch = randomUUID();
  store.transaction(() => store.resetForInitialSync());
  conn.send({ type: 'beginInitial', syncEpoch });
  const phoneList = (await conn.expect('phoneList')).message.messages;
  store.transaction(() => store.setMeta('syncEpoch', syncEpoch));

  const inbox = new Unclaimed(await scanFolder(ctx, 'inbox'));
  const trash = new Unclaimed(await scanFolder(ctx, 'trash'));
  const missing: PhoneListEntry[] = [];
  // Phone Inbox first: a message in both phone folders (impossible, but cheap to order) pairs with INBOX first.
  for (const phone of [...phoneList].sort((a, b) => (a.folder === b.folder ? 0 : a.folder === 'inbox' ? -1 : 1))) {
    const first: FolderRole = phone.folder;
    const second: FolderRole = first === 'inbox' ? 'trash' : 'inbox';
    const pick = (role: FolderRole) => (role === 'inbox' ? inbox : trash).take(phone.fingerprint);
    const inFirst = pick(first);
    const match = inFirst ? { folder: first, desktop: inFirst } : (() => {
      const inSecond = pick(second);
      return inSecond ? { folder: second, desktop: inSecond } : undefined;
    })();
    if (match) await pair(ctx, phone, match.folder, match.desktop);
    else missing.push(phone);
  }
  log.info('initial sync: lists compared', { phone: phoneList.length, paired: phoneList.length - missing.length, missing: missing.length });
  await fetchMissing(ctx, missing);
  await pushActions(ctx);
}
