/**
 * After the swap request, applies the phone's changes to the desktop (patent
 * FIG. 9, blocks 926–932), one handler per action kind, and acknowledges each.
 * Handlers are idempotent: a server action already applied (its seq is
 * recorded in the same transaction as its effect) is only acknowledged again.
 *
 * The one side effect that is not idempotent, APPEND, is guarded by an intent
 * row written before it: after a crash, the retry looks for the copy above
 * the recorded UIDNEXT before appending again (Mailspring's "ran" marker).
 */
import { contentDigestOfRaw, fingerprintOfRaw, toCrlf, type MessageIdentity, type ServerAction, type ServerActionKind, type ServerActionResult } from '@twinbox/protocol';
import type { DesktopSummary } from '../imap/desktop-imap.js';
import { candidatesFor, findSame, sameMessage } from '../imap/same-message.js';
import { resolveFlagConflict } from './resolve-flags.js';
import type { SyncContext } from './context.js';
import { deliver, fileSent } from './outgoing-mail.js';

interface Outcome {
  result: ServerActionResult;
  desktopUid?: number;
  error?: string;
}

type Handler = (ctx: SyncContext, seq: number, action: ServerAction, body: Buffer | undefined) => Promise<Outcome>;

/**
 * Desktop INBOX messages with this fingerprint: the tracked ones, and where
 * the agent does not track the whole INBOX, those a server-side SEARCH HEADER
 * Message-ID finds below the window (inbox-tracking.ts). A message without a
 * Message-ID is looked for among the tracked ones only (mail delivered to
 * both addresses arrives on both at about the same time: it is tracked).
 */
async function inboxCandidates({ store, imap }: SyncContext, fingerprint: string): Promise<DesktopSummary[]> {
  const tracked = store.inboxByFingerprint(fingerprint);
  if (store.inboxFloor() === 0 || !fingerprint.startsWith('mid:')) return tracked;
  const seen = new Set(tracked.map((e) => e.uid));
  return [...tracked, ...(await candidatesFor(imap, 'inbox', fingerprint)).filter((s) => !seen.has(s.uid) && !s.trigger)];
}

async function insert(ctx: SyncContext, seq: number, action: Extract<ServerAction, { kind: 'insert' }>, body: Buffer | undefined): Promise<Outcome> {
  const { store, imap } = ctx;
  const mapped = store.mappingByPhoneId(action.phoneId);
  if (mapped) {
    store.transaction(() => store.recordServerAction(seq));
    return { result: 'ok', desktopUid: mapped.uid };
  }
  const raw = toCrlf(body!);
  const fingerprint = fingerprintOfRaw(raw);
  const identity = { fingerprint, digest: contentDigestOfRaw(raw) };
  // The same message already on the desktop (delivered to both addresses, or appended before a crash): map it,
  // never store it twice. Only the same message (identity.ts): a stranger's mail that merely reuses a desktop
  // Message-ID is stored as its own message and never takes over, hides or deletes the desktop one (issue 9.1).
  const unmapped = (await inboxCandidates(ctx, fingerprint)).filter((e) => !store.mappingByUid('inbox', e.uid));
  const twinUid = unmapped.length > 0 ? await sameMessage(imap, 'inbox', identity, unmapped) : undefined;
  const twin = unmapped.find((e) => e.uid === twinUid);
  const intent = store.intent(seq);
  let uid = twin?.uid ?? (intent ? await findSame(imap, 'inbox', identity, intent.minUid) : undefined);
  let entry = twin;
  if (uid === undefined) {
    const minUid = await imap.statusUidNext('inbox');
    store.transaction(() => store.recordIntent(seq, fingerprint, minUid));
    uid = await imap.append('inbox', raw, action, new Date(action.date), fingerprint);
    ctx.counters.insertedOnDesktop++;
  }
  entry ??= { uid, date: Math.floor(action.date / 1000) * 1000, seen: action.seen, flagged: action.flagged, fingerprint, size: raw.length };
  const agreed = twin ? { seen: twin.seen, flagged: twin.flagged } : { seen: action.seen, flagged: action.flagged };
  store.transaction(() => {
    store.putInboxEntry(entry);
    store.putMapping({ phoneId: action.phoneId, folder: 'inbox', uid, fingerprint, ...agreed });
    store.recordServerAction(seq);
    store.deleteIntent(seq);
  });
  // A desktop twin may carry other flags than the phone copy: the account's conflict policy decides.
  if (twin) await resolveFlagConflict(ctx, action.phoneId, 'inbox', uid, twin, action);
  return { result: 'ok', desktopUid: uid };
}

/**
 * A phone destroy reaching an agent that has no mapping for it (it started
 * over: the initial sync's swap). The action names what was destroyed; the
 * desktop copy that is that same message, and not mapped to another phone
 * message, is destroyed. None: it is already gone.
 */
async function destroyByIdentity({ store, imap }: SyncContext, seq: number, identity: MessageIdentity): Promise<Outcome> {
  for (const folder of identity.folder === 'inbox' ? (['inbox', 'trash'] as const) : (['trash', 'inbox'] as const)) {
    const candidates = (await candidatesFor(imap, folder, identity.fingerprint)).filter((c) => !store.mappingByUid(folder, c.uid));
    const uid = candidates.length > 0 ? await sameMessage(imap, folder, identity, candidates) : undefined;
    if (uid === undefined) continue;
    await imap.destroy(folder, uid);
    store.transaction(() => {
      if (folder === 'inbox') store.deleteInboxEntry(uid);
      store.recordServerAction(seq);
    });
    return { result: 'ok' };
  }
  store.transaction(() => store.recordServerAction(seq));
  return { result: 'gone' };
}

function setFlag(flag: 'seen' | 'flagged', value: boolean): Handler {
  return async ({ store, imap }, seq, action) => {
    const m = store.mappingByPhoneId(action.phoneId);
    if (!m) return { result: 'gone' };
    await imap.setFlags(m.folder, m.uid, { [flag]: value });
    store.transaction(() => {
      const next = { ...m, [flag]: value };
      store.putMapping(next);
      if (m.folder === 'inbox' && store.inboxEntry(m.uid)) store.setInboxFlags(m.uid, next.seen, next.flagged);
      store.recordServerAction(seq);
    });
    return { result: 'ok' };
  };
}

function move(to: 'inbox' | 'trash'): Handler {
  const from = to === 'inbox' ? 'trash' : 'inbox';
  return async ({ store, imap }, seq, action) => {
    const m = store.mappingByPhoneId(action.phoneId);
    if (!m) return { result: 'gone' };
    if (m.folder === to) {
      store.transaction(() => store.recordServerAction(seq));
      return { result: 'ok' };
    }
    const target = store.folderState(to);
    const stillThere = (await imap.existing(from, [m.uid])).has(m.uid);
    // Not where the mapping says: moved before a crash (look in the target) or gone.
    const newUid = stillThere ? await imap.move(from, m.uid, to, m.fingerprint) : await imap.findByFingerprint(to, m.fingerprint, target?.uidNext ?? 1);
    const summary = newUid !== undefined && to === 'inbox' ? (await imap.summaries('inbox', newUid)).find((s) => s.uid === newUid) : undefined;
    store.transaction(() => {
      store.recordServerAction(seq);
      if (from === 'inbox') store.deleteInboxEntry(m.uid);
      if (newUid === undefined) {
        store.deleteMapping(m.phoneId);
        return;
      }
      store.putMapping({ ...m, folder: to, uid: newUid });
      if (summary) store.putInboxEntry(summary);
    });
    return newUid === undefined ? { result: 'gone' } : { result: 'ok' };
  };
}

const HANDLERS: Record<ServerActionKind, Handler> = {
  insert: (ctx, seq, action, body) => (action.kind === 'insert' ? insert(ctx, seq, action, body) : Promise.reject(new Error('not an insert'))),
  deliver: (ctx, seq, action, body) => (action.kind === 'deliver' ? deliver(ctx, seq, action.phoneId, action.envelope, body!) : Promise.reject(new Error('not a deliver'))),
  sent: (ctx, seq, action, body) => (action.kind === 'sent' ? fileSent(ctx, seq, action.phoneId, action.date, body!) : Promise.reject(new Error('not a sent'))),
  markRead: setFlag('seen', true),
  markUnread: setFlag('seen', false),
  flag: setFlag('flagged', true),
  unflag: setFlag('flagged', false),
  trash: move('trash'),
  recover: move('inbox'),
  destroy: async (ctx, seq, action) => {
    const { store, imap } = ctx;
    const m = store.mappingByPhoneId(action.phoneId);
    if (!m) return action.kind === 'destroy' && action.identity ? destroyByIdentity(ctx, seq, action.identity) : { result: 'gone' };
    if ((await imap.existing(m.folder, [m.uid])).has(m.uid)) await imap.destroy(m.folder, m.uid);
    store.transaction(() => {
      store.deleteMapping(m.phoneId);
      if (m.folder === 'inbox') store.deleteInboxEntry(m.uid);
      store.recordServerAction(seq);
    });
    return { result: 'ok' };
  },
};

/** Send the swap request and apply the server's actions until it says they are all sent. */
export async function applyServerActions(ctx: SyncContext): Promise<number> {
  const { conn, store } = ctx;
  conn.send({ type: 'swap' });
  let applied = 0;
  for (;;) {
    const frame = await conn.expect('serverAction', 'actionsEnd');
    if (frame.message.type === 'actionsEnd') break;
    const { seq, action } = frame.message;
    let outcome: Outcome;
    if (store.serverActionApplied(seq)) {
      const m = 'phoneId' in action ? store.mappingByPhoneId(action.phoneId) : undefined;
      outcome = { result: 'ok', ...(m ? { desktopUid: m.uid } : {}) };
    } else {
      outcome = await HANDLERS[action.kind](ctx, seq, action, frame.body);
    }
    conn.send({
      type: 'serverAck',
      seq,
      result: outcome.result,
      ...(outcome.desktopUid ? { desktopUid: outcome.desktopUid } : {}),
      ...(outcome.error ? { error: outcome.error.slice(0, 2000) } : {}),
    });
    applied++;
  }
  ctx.counters.serverActions += applied;
  return applied;
}
