/**
 * Initial sync (patent FIG. 4/5, docs/spec.md §4.3), run when either side has no sync
 * state for the other. Both sides forget their old pairing state (patent
 * [0041]), then:
 *
 *   1. read the phone's Inbox and Trash a page at a time (any number of
 *      messages); track the desktop INBOX's window cover (inbox-tracking.ts)
 *      and search INBOX and Trash for the phone messages' Message-IDs;
 *   2. pair the same messages (pairing.ts: fingerprint finds candidates, the
 *      content digest decides, so a stranger's copy of a Message-ID never
 *      takes over a desktop message) and settle each pair's disagreements:
 *      the user's phone changes since the last agreed state win, else the
 *      conflict policy (docs/spec.md §6);
 *   3. fetch the phone messages the desktop lacks and APPEND them with their
 *      phone arrival time as INTERNALDATE, mapping each;
 *   4. send the resulting phone changes, then take the phone's actions that a
 *      list cannot carry: outgoing mail (deliver, sent) and destroys, which
 *      name the message they destroyed (issue 9.6: nothing the user did on the
 *      phone is lost because the agent started over).
 *
 * Nothing is deleted here but what a phone destroy names, so running it again
 * after a crash is safe: what was appended before is the same message, found
 * and mapped.
 */
import { randomUUID } from 'node:crypto';
import { LIMITS, TwinboxError, contentDigestOfRaw, fingerprintOfRaw, imapSafe, toCrlf, type PhoneListEntry } from '@twinbox/protocol';
import type { DesktopSummary } from '../imap/desktop-imap.js';
import { digestsOf } from '../imap/same-message.js';
import type { FolderRole } from '../store/agent-store.js';
import { applyServerActions } from './apply-server-actions.js';
import type { SyncContext } from './context.js';
import { decidePair, digestsNeeded, planPairing, type DesktopLists, type Pair } from './pairing.js';
import { trackInboxFromScratch } from './inbox-tracking.js';
import { pushActions } from './push-actions.js';

/** Pairs written per transaction (one fsync each). */
const PAIRS_PER_TRANSACTION = 1000;

/**
 * The desktop messages the pairing looks at: the tracked INBOX
 * (inbox-tracking.ts: the window's cover, not the whole folder), and, found
 * by a server-side SEARCH HEADER Message-ID, the desktop copies of phone
 * messages anywhere in INBOX and Trash. A phone message without a
 * Message-ID can only be looked for by listing: the folder is listed then
 * (rare: nearly all mail has one).
 */
async function desktopLists(ctx: SyncContext, phoneList: PhoneListEntry[]): Promise<DesktopLists> {
  const { store, imap } = ctx;
  const inbox = await trackInboxFromScratch(ctx);
  const trashOpened = await imap.open('trash');
  store.transaction(() =>
    store.setFolderState('trash', { uidValidity: trashOpened.uidValidity, highestModseq: trashOpened.highestModseq, uidNext: trashOpened.uidNext, exists: trashOpened.exists }),
  );
  const tracked = new Set(inbox.map((s) => s.fingerprint));
  const messageIds = (entries: PhoneListEntry[]) => [...new Set(entries.filter((p) => p.fingerprint.startsWith('mid:')).map((p) => p.fingerprint.slice('mid:'.length)))];
  const withoutMessageId = phoneList.some((p) => !p.fingerprint.startsWith('mid:'));
  const notLive = (list: DesktopSummary[]) => list.filter((s) => !ctx.triggers.isLive(s));
  const lists: DesktopLists = { inbox, trash: [] };
  if (trashOpened.exists > 0 && phoneList.length > 0) lists.trash = withoutMessageId ? await imap.summaries('trash', 1) : await imap.searchMessageIds('trash', messageIds(phoneList));
  const untracked = phoneList.filter((p) => !tracked.has(p.fingerprint));
  if (store.inboxFloor() > 0 && untracked.length > 0) {
    const more = untracked.some((p) => !p.fingerprint.startsWith('mid:')) ? await imap.summaries('inbox', 1) : await imap.searchMessageIds('inbox', messageIds(untracked));
    const have = new Set(inbox.map((s) => s.uid));
    lists.inbox = [...inbox, ...notLive(more).filter((s) => !have.has(s.uid))];
  }
  return lists;
}

/** The whole phone list, page by page. */
async function readPhoneList(ctx: SyncContext): Promise<PhoneListEntry[]> {
  const entries: PhoneListEntry[] = [];
  for (;;) {
    const page = (await ctx.conn.expect('phoneList')).message;
    entries.push(...page.messages);
    if (page.next === null) return entries;
    ctx.conn.send({ type: 'listPhone', after: page.next });
  }
}

/** Content digests of the desktop messages that may be a phone message's twin. */
async function desktopDigests(ctx: SyncContext, phoneList: PhoneListEntry[], lists: DesktopLists): Promise<(role: FolderRole, uid: number) => string | undefined> {
  const needed = digestsNeeded(phoneList, lists);
  const found = {
    inbox: await digestsOf(ctx.imap, 'inbox', needed.filter((n) => n.role === 'inbox')),
    trash: await digestsOf(ctx.imap, 'trash', needed.filter((n) => n.role === 'trash')),
  };
  return (role, uid) => found[role].get(uid);
}

/** Carry out the pairs: IMAP first where the phone's side won, then the mapping and the phone's actions. */
async function applyPairs(ctx: SyncContext, pairs: Pair[]): Promise<void> {
  const { store, imap, options } = ctx;
  const quiet: { pair: Pair; decision: ReturnType<typeof decidePair>; uid: number }[] = [];
  const write = (batch: typeof quiet) =>
    store.transaction(() => {
      for (const { pair, decision, uid } of batch) {
        if (pair.folder === 'inbox' && decision.folder === 'trash') store.deleteInboxEntry(pair.desktop.uid);
        if (decision.folder === 'inbox') store.putInboxEntry({ ...pair.desktop, uid, ...decision.agreed });
        store.putMapping({ phoneId: pair.phone.phoneId, folder: decision.folder, uid, fingerprint: pair.desktop.fingerprint, digest: pair.phone.digest, ...decision.agreed });
        for (const action of decision.phoneActions) store.appendAction(action);
      }
    });
  for (const [i, pair] of pairs.entries()) {
    ctx.progress({ stage: 'pairing', done: i, total: pairs.length });
    const decision = decidePair(pair, options.conflictPolicy);
    let uid = pair.desktop.uid;
    if (decision.moveDesktop) {
      const moved = await imap.move(pair.folder, uid, decision.folder, { fingerprint: pair.desktop.fingerprint, digest: pair.phone.digest });
      // Vanished while being moved: the sync fails (retryable) and the next initial sync sees where things are.
      if (moved === undefined) throw new TwinboxError('IMAP', `desktop message ${uid} could not be found after moving it to ${decision.folder}`);
      uid = moved;
    }
    if (decision.desktopFlags.seen !== undefined || decision.desktopFlags.flagged !== undefined) await imap.setFlags(decision.folder, uid, decision.desktopFlags);
    quiet.push({ pair, decision, uid });
    if (quiet.length >= PAIRS_PER_TRANSACTION) write(quiet.splice(0));
  }
  write(quiet);
}

async function fetchMissing(ctx: SyncContext, missing: PhoneListEntry[]): Promise<void> {
  const { store, imap, conn } = ctx;
  const folderOf = new Map(missing.map((p) => [p.phoneId, p.folder]));
  for (let i = 0; i < missing.length; i += LIMITS.maxInFlight) {
    const batch = missing.slice(i, i + LIMITS.maxInFlight);
    conn.send({ type: 'fetchPhone', phoneIds: batch.map((p) => p.phoneId) });
    for (let n = 0; n < batch.length; n++) {
      ctx.progress({ stage: 'fetching', done: i + n, total: missing.length });
      const frame = await conn.expect('phoneMessage', 'phoneGone');
      if (frame.message.type === 'phoneGone') continue;
      const { phoneId, date, seen, flagged } = frame.message;
      const folder: FolderRole = folderOf.get(phoneId) ?? 'inbox';
      const raw = imapSafe(toCrlf(frame.body!));
      const fingerprint = fingerprintOfRaw(raw);
      const uid = await imap.append(folder, raw, { seen, flagged }, new Date(date), fingerprint);
      ctx.counters.insertedOnDesktop++;
      store.transaction(() => {
        if (folder === 'inbox') store.putInboxEntry({ uid, date: Math.floor(date / 1000) * 1000, seen, flagged, fingerprint, size: raw.length });
        store.putMapping({ phoneId, folder, uid, fingerprint, digest: contentDigestOfRaw(raw), seen, flagged });
      });
    }
  }
}

export async function initialSync(ctx: SyncContext): Promise<void> {
  const { store, conn, log } = ctx;
  const syncEpoch = randomUUID();
  store.transaction(() => store.resetForInitialSync());
  conn.send({ type: 'beginInitial', syncEpoch });
  const phoneList = await readPhoneList(ctx);
  store.transaction(() => store.setMeta('syncEpoch', syncEpoch));
  log.debug('initial sync: phone list read', { phone: phoneList.length });

  const lists = await desktopLists(ctx, phoneList);
  const plan = planPairing(phoneList, lists, await desktopDigests(ctx, phoneList, lists));
  log.info('initial sync: lists compared', { phone: phoneList.length, paired: plan.pairs.length, missing: plan.missing.length });
  await applyPairs(ctx, plan.pairs);
  await fetchMissing(ctx, plan.missing);
  log.debug('initial sync: pairs applied, missing messages fetched');
  await pushActions(ctx);
  await applyServerActions(ctx);
  log.debug('initial sync: phone changes sent, outgoing mail and destroys taken');
}
